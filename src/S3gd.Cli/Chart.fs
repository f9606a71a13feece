/// SVG line charts with a legend: `s3gd bench`'s GB/s against parameters and `s3gd train`'s loss against steps.
module S3gd.Cli.Chart

open System
open System.Globalization

/// One line of a chart.
type Line =
    { Name: string
      /// (x, y) points in x order; points with a non-finite y are left out.
      Points: (float * float) list
      /// A fixed colour, or None for the next colour of the palette.
      Colour: string option
      Dashed: bool }

/// A chart: the lines, the title, the y axis's label and tick format, the x axis's scale and labelled ticks.
type Chart =
    { Title: string
      YLabel: string
      /// How a y tick's value is written.
      YFormat: float -> string
      /// Whether x is drawn on a log10 scale.
      XLog: bool
      /// Labels under the x axis at these x values.
      XTicks: (float * string) list
      Series: Line list }

/// A line of the palette's colour number i (matplotlib's tab10, in order).
let private palette = [| "#1f77b4"; "#ff7f0e"; "#2ca02c"; "#d62728"; "#9467bd"; "#8c564b"; "#e377c2"; "#7f7f7f"; "#bcbd22"; "#17becf" |]

/// Chart size and margins in pixels (the legend sits in the right margin).
let private width, height, left, right, top, bottom = 760.0, 440.0, 70.0, 200.0, 40.0, 50.0

/// Y ticks drawn, from 0 to the top of the axis.
let private yTicks = 4

/// Headroom above the largest y value, as a factor.
let private headroom = 1.1

/// The chart as an SVG document; None when no series has a finite point.
let render (chart: Chart) : string option =
    let series = chart.Series |> List.map (fun s -> { s with Points = s.Points |> List.filter (fun (_, y) -> Double.IsFinite y) })
    let points = series |> List.collect (fun s -> s.Points)
    if points.IsEmpty then None
    else
        let tx x = if chart.XLog then log10 x else x
        let xs = points |> List.map (fst >> tx)
        // At least one unit of x (a decade on the log scale), so a single point still has an axis.
        let x0, x1 = List.min xs, max (List.max xs) (List.min xs + 1.0)
        let yMax = points |> List.map snd |> List.max |> (*) headroom |> fun y -> if y > 0.0 then y else 1.0
        let px x = left + (tx x - x0) / (x1 - x0) * (width - left - right)
        let py y = height - bottom - y / yMax * (height - top - bottom)
        let f (v: float) = v.ToString("F1", CultureInfo.InvariantCulture)
        let escape (s: string) = Security.SecurityElement.Escape s
        let body =
            [ for i, s in List.indexed series do
                  let colour = s.Colour |> Option.defaultValue palette[i % palette.Length]
                  let pts = s.Points |> List.map (fun (x, y) -> f (px x) + "," + f (py y)) |> String.concat " "
                  let dash = if s.Dashed then "stroke-dasharray=\"6,4\"" else ""
                  yield sprintf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" %s points=\"%s\"/>" colour dash pts
                  yield sprintf "<text x=\"%s\" y=\"%s\" fill=\"%s\" font-size=\"12\">%s</text>" (f (width - right + 10.0)) (f (top + 16.0 * float i)) colour (escape s.Name)
              for x, label in chart.XTicks do
                  yield sprintf "<text x=\"%s\" y=\"%s\" font-size=\"11\" text-anchor=\"middle\">%s</text>" (f (px x)) (f (height - bottom + 18.0)) (escape label)
              for k in 0..yTicks do
                  let y = yMax * float k / float yTicks
                  yield sprintf "<text x=\"%s\" y=\"%s\" font-size=\"11\" text-anchor=\"end\">%s</text>" (f (left - 6.0)) (f (py y + 4.0)) (chart.YFormat y)
                  yield sprintf "<line x1=\"%s\" x2=\"%s\" y1=\"%s\" y2=\"%s\" stroke=\"#dddddd\"/>" (f left) (f (width - right)) (f (py y)) (f (py y)) ]
        Some(
            [ sprintf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" font-family=\"sans-serif\">" (f width) (f height)
              "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
              sprintf "<text x=\"%s\" y=\"24\" font-size=\"14\">%s</text>" (f left) (escape chart.Title)
              sprintf "<text x=\"16\" y=\"%s\" font-size=\"12\" transform=\"rotate(-90 16 %s)\">%s</text>" (f (height / 2.0)) (f (height / 2.0)) (escape chart.YLabel) ]
            @ body
            @ [ "</svg>" ]
            |> String.concat "\n")
