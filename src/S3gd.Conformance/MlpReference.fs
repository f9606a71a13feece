/// A float64 reference of the MLP's forward and backward passes, written straight from the equations, with the
/// magnitudes (every sum taken over absolute values) that bound a float32 computation's rounding errors. An activation's
/// magnitude is its pre-activation sum's (tanh is 1-Lipschitz: an activation that comes from a cancelling sum is as
/// uncertain as the sum, however small it is), and 1 - a^2's is |1 - a^2| + 2|a| times that (a's error, doubled).
module S3gd.Conformance.MlpReference

open System

/// Gradients of the mean softmax cross-entropy and their magnitudes, per parameter in MlpShape order.
type Result =
    { Loss: float
      /// The largest |logit| bound: sum |a||w| + |b| over the logit's terms.
      LogitMagnitude: float
      Gradients: float[][]
      /// Per gradient element: the same sums as the gradient, of absolute values.
      Magnitudes: float[][] }

/// Forward and backward over `rows` rows of `inputs` (row-major, widths[0] features) against `labels`;
/// parameters as MlpShape lays them out (weight [out, in], bias [out] per layer).
let run (widths: int list) (parameters: float[][]) (inputs: float[]) (labels: int[]) : Result =
    let widths = Array.ofList widths
    let layers = widths.Length - 1
    let rows = labels.Length
    let w l = parameters[2 * l]
    let b l = parameters[2 * l + 1]
    // acts[0] = inputs; acts[l + 1] = layer l's output (tanh except the last); mags likewise of absolute values.
    let acts = Array.zeroCreate<float[]> (layers + 1)
    let mags = Array.zeroCreate<float[]> (layers + 1)
    acts[0] <- inputs
    mags[0] <- Array.map abs inputs
    for l in 0 .. layers - 1 do
        let fin, fout = widths[l], widths[l + 1]
        let z = Array.zeroCreate (rows * fout)
        let m = Array.zeroCreate (rows * fout)
        for r in 0 .. rows - 1 do
            for o in 0 .. fout - 1 do
                let mutable acc = b l |> fun bb -> bb[o]
                let mutable mag = abs (b l).[o]
                for i in 0 .. fin - 1 do
                    acc <- acc + acts[l][r * fin + i] * (w l)[o * fin + i]
                    mag <- mag + mags[l][r * fin + i] * abs (w l).[o * fin + i]
                z[r * fout + o] <- if l < layers - 1 then tanh acc else acc
                m[r * fout + o] <- mag
        acts[l + 1] <- z
        mags[l + 1] <- m
    let k = widths[layers]
    let logits = acts[layers]
    let mutable loss = 0.0
    let delta = Array.zeroCreate (rows * k)
    let deltaMag = Array.zeroCreate (rows * k)
    for r in 0 .. rows - 1 do
        let z = logits[r * k .. r * k + k - 1]
        let mx = Array.max z
        let sum = z |> Array.sumBy (fun v -> exp (v - mx))
        loss <- loss + (log sum + mx - z[labels[r]]) / float rows
        for j in 0 .. k - 1 do
            let p = exp (z[j] - mx) / sum
            let y = if j = labels[r] then 1.0 else 0.0
            delta[r * k + j] <- (p - y) / float rows
            deltaMag[r * k + j] <- (p + y) / float rows
    let grads = Array.zeroCreate (2 * layers)
    let gradMags = Array.zeroCreate (2 * layers)
    let mutable d, dm = delta, deltaMag
    for l in layers - 1 .. -1 .. 0 do
        let fin, fout = widths[l], widths[l + 1]
        let prev, prevMag = acts[l], mags[l]
        grads[2 * l] <- Array.init (fout * fin) (fun e -> let o, i = e / fin, e % fin in Seq.sum (seq { for r in 0 .. rows - 1 -> d[r * fout + o] * prev[r * fin + i] }))
        gradMags[2 * l] <- Array.init (fout * fin) (fun e -> let o, i = e / fin, e % fin in Seq.sum (seq { for r in 0 .. rows - 1 -> dm[r * fout + o] * prevMag[r * fin + i] }))
        grads[2 * l + 1] <- Array.init fout (fun o -> Seq.sum (seq { for r in 0 .. rows - 1 -> d[r * fout + o] }))
        gradMags[2 * l + 1] <- Array.init fout (fun o -> Seq.sum (seq { for r in 0 .. rows - 1 -> dm[r * fout + o] }))
        if l > 0 then
            let next = Array.zeroCreate (rows * fin)
            let nextMag = Array.zeroCreate (rows * fin)
            for r in 0 .. rows - 1 do
                for i in 0 .. fin - 1 do
                    let a = prev[r * fin + i]
                    let s = Seq.sum (seq { for o in 0 .. fout - 1 -> d[r * fout + o] * (w l)[o * fin + i] })
                    let sm = Seq.sum (seq { for o in 0 .. fout - 1 -> dm[r * fout + o] * abs (w l).[o * fin + i] })
                    next[r * fin + i] <- s * (1.0 - a * a)
                    nextMag[r * fin + i] <- sm * (abs (1.0 - a * a) + 2.0 * abs a * prevMag[r * fin + i])
            d <- next
            dm <- nextMag
    { Loss = loss; LogitMagnitude = Array.max mags[layers]; Gradients = grads; Magnitudes = gradMags }

/// The mean loss alone (for finite differences).
let loss (widths: int list) (parameters: float[][]) (inputs: float[]) (labels: int[]) = (run widths parameters inputs labels).Loss
