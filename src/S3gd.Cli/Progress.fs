/// Progress of a long command (bench, soak, verify) on stderr, with an estimate of the time left from the pace so far:
/// on a terminal one status line redrawn in place, otherwise (a log) a line at most every `plainInterval`.
module S3gd.Cli.Progress

open System
open System.Diagnostics
open System.IO

/// Least time between two status lines when stderr is not a terminal: a line per item would flood a log.
let plainInterval = TimeSpan.FromSeconds 10.0

/// Least time between two redraws of the status line on a terminal.
let redrawInterval = TimeSpan.FromMilliseconds 100.0

/// ANSI: carriage return, then erase to the end of the line.
let private clearLine = "\r\u001b[K"

/// A duration as an estimate writes it: "45 s", "3 min 20 s", "2 h 05 min".
let showDuration (t: TimeSpan) =
    let s = int (Math.Ceiling t.TotalSeconds)
    if s < 60 then sprintf "%d s" s
    elif s < 3600 then sprintf "%d min %02d s" (s / 60) (s % 60)
    else sprintf "%d h %02d min" (s / 3600) (s % 3600 / 60)

/// The time left when `doneWork` of `totalWork` took `elapsed`, at the same pace; None before any work is done.
let estimate (elapsed: TimeSpan) (doneWork: float) (totalWork: float) : TimeSpan option =
    if doneWork <= 0.0 then None
    else Some(TimeSpan.FromSeconds(elapsed.TotalSeconds / doneWork * max 0.0 (totalWork - doneWork)))

/// A progress report of `items` items (named by `noun`, plural) of `totalWork` units of work in all, under `title`,
/// written to `err` beside the command's output on `out`; `live` redraws one line (a terminal), otherwise a line at most
/// every `plainInterval`.
type Tracker(title: string, noun: string, items: int, totalWork: float, out: TextWriter, err: TextWriter, live: bool, clock: unit -> TimeSpan) =
    let mutable items = items
    let mutable totalWork = totalWork
    let mutable finished = 0
    let mutable doneWork = 0.0
    let mutable lastShown: TimeSpan option = None
    let mutable onScreen = false

    /// The status line: items done, the estimate of the time left, and what runs now.
    member _.Status(current: string) =
        let left =
            match estimate (clock ()) doneWork totalWork with
            | Some t -> sprintf ", about %s left" (showDuration t)
            | None -> ""
        let now = if String.IsNullOrEmpty current then "" else sprintf " (%s)" current
        sprintf "%s: %d of %d %s done%s%s" title finished items noun left now

    /// Shows the status when due: always the first time, then every `redrawInterval` (live) or `plainInterval`.
    member private this.Show(current: string) =
        let now = clock ()
        let interval = if live then redrawInterval else plainInterval
        if lastShown.IsNone || now - lastShown.Value >= interval then
            lastShown <- Some now
            if live then
                let status = this.Status current
                // One screen line, so the carriage return reaches its start (no width known: as it is).
                let width = try Console.WindowWidth - 1 with :? IOException -> 0
                err.Write(clearLine + (if width > 0 && status.Length > width then status.Substring(0, width) else status))
                onScreen <- true
            else err.WriteLine(this.Status current)

    /// Says on a terminal that `current` runs now (before its work, so the line comes at once); a log's first line comes
    /// with the first item done, so a command that fails while setting up prints only its error.
    member this.Start(current: string) = if live then this.Show current

    /// Records one more item done, of `work` units; `next` names what runs next ("" at the end).
    member this.Advance(work: float, next: string) =
        finished <- finished + 1
        doneWork <- doneWork + work
        this.Show next

    /// Sets the items and their work once known (a time budget's step count, after its first step).
    member _.Plan(count: int, work: float) =
        items <- count
        totalWork <- work

    /// Writes a line of the command's output, the status line cleared first and redrawn on the next report.
    member _.Print(line: string) =
        if onScreen then
            err.Write clearLine
            onScreen <- false
            lastShown <- None
        out.WriteLine line

    interface IDisposable with
        member _.Dispose() = if onScreen then err.Write clearLine

/// A tracker on the console's stderr, live when stderr is a terminal, timed from now.
let start (title: string) (noun: string) (items: int) (totalWork: float) =
    let watch = Stopwatch.StartNew()
    new Tracker(title, noun, items, totalWork, Console.Out, Console.Error, not Console.IsErrorRedirected, fun () -> watch.Elapsed)
