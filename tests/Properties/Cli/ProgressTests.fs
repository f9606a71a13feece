/// The progress line of long commands: the estimate from the pace so far, durations as they read, a line at most every
/// `plainInterval` in a log, and output lines printed with the live status line cleared.
module S3gd.Properties.Cli.ProgressTests

open System
open System.IO
open Xunit
open S3gd.Cli

[<Fact>]
let ``the estimate is the time per unit of work so far times the work left`` () =
    Assert.Equal(None, Progress.estimate (TimeSpan.FromSeconds 5.0) 0.0 10.0)
    Assert.Equal(Some(TimeSpan.FromSeconds 15.0), Progress.estimate (TimeSpan.FromSeconds 5.0) 1.0 4.0)
    Assert.Equal(Some TimeSpan.Zero, Progress.estimate (TimeSpan.FromSeconds 5.0) 4.0 4.0)
    Assert.Equal("45 s", Progress.showDuration (TimeSpan.FromSeconds 44.2))
    Assert.Equal("3 min 20 s", Progress.showDuration (TimeSpan.FromSeconds 200.0))
    Assert.Equal("2 h 05 min", Progress.showDuration (TimeSpan.FromMinutes 125.0))

[<Fact>]
let ``in a log the first line comes with the first item done, then at most every plainInterval, with the estimate`` () =
    let mutable now = TimeSpan.Zero
    let err = new StringWriter()
    use tracker = new Progress.Tracker("bench", "cases", 4, 4.0, TextWriter.Null, err, false, fun () -> now)
    tracker.Start "first"
    Assert.Equal("", err.ToString())
    let advance (seconds: float) (next: string) =
        now <- TimeSpan.FromSeconds seconds
        tracker.Advance(1.0, next)
    advance 2.0 "second"
    advance 5.0 "third"
    advance (2.0 + Progress.plainInterval.TotalSeconds + 1.0) "fourth"
    Assert.Equal<string[]>(
        [| "bench: 1 of 4 cases done, about 6 s left (second)"; "bench: 3 of 4 cases done, about 5 s left (fourth)" |],
        err.ToString().TrimEnd('\n').Split('\n'))

[<Fact>]
let ``on a terminal the status line is redrawn in place and cleared for output and at the end`` () =
    let err = new StringWriter()
    let printed = new StringWriter()
    let tracker = new Progress.Tracker("verify", "checks", 2, 2.0, printed, err, true, fun () -> TimeSpan.Zero)
    tracker.Start "one"
    tracker.Print "a row"
    (tracker :> IDisposable).Dispose()
    Assert.Equal("a row" + Environment.NewLine, printed.ToString())
    Assert.Equal("\r\u001b[Kverify: 0 of 2 checks done (one)\r\u001b[K", err.ToString())
