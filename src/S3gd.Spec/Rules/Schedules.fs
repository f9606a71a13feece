/// The warm-up schedules of AdEMAMix and simplified AdEMAMix, as NVIDIA-NeMo/Emerging-Optimizers
/// emerging_optimizers/scalar_optimizers/ademamix.py (_half_life_steps, _inverse_half_life_beta,
/// _linear_half_life_warmup_scheduler, _linear_warmup_scheduler) writes them.
module S3gd.Spec.Rules.Schedules

/// Steps an EMA with decay beta takes to reach one half: f(b) = log(0.5)/log(b + 1e-8) - 1.
let halfLifeSteps (beta: float) =
    // 1e-8: the reference's offset that keeps log finite at beta = 0.
    log 0.5 / log (beta + 1e-8) - 1.0

/// The beta whose half-life is x steps: f_inv(x) = 0.5^(1/(x+1)).
let inverseHalfLifeBeta (x: float) = 0.5 ** (1.0 / (x + 1.0))

/// Beta at a step, moving linearly in half-life from betaStart to betaEnd over `warmup` steps; betaEnd from then on.
let linearHalfLife (step: int) (betaEnd: float) (betaStart: float) (warmup: int) =
    if step < warmup then
        let a = float step / float warmup
        inverseHalfLifeBeta ((1.0 - a) * halfLifeSteps betaStart + a * halfLifeSteps betaEnd)
    else betaEnd

/// A value ramping linearly from start to stop over `warmup` steps; stop from then on.
let linear (step: int) (stop: float) (start: float) (warmup: int) =
    if step < warmup then
        let a = float step / float warmup
        (1.0 - a) * start + a * stop
    else stop
