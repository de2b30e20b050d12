-- Grain: two scalar macros, wilson_low(x, n) and wilson_high(x, n): the 95% Wilson score interval of the rate x / n,
-- (x + z²/2 ± z √(x (n - x) / n + z²/4)) / (n + z²) with z = 1.959963984540054, clamped to [0, 1] against rounding;
-- null when n is 0 or null (docs/metrics.md). Created in memory.main when the exports are opened
-- (graph.OPENED_BY_DATABASE).
-- Params: none
-- Reads: none
-- Creates: wilson_high(), wilson_low()
create or replace macro wilson_low(x, n) as
case when n > 0 then greatest(0.0,
    (x + 1.959963984540054 * 1.959963984540054 / 2) / (n + 1.959963984540054 * 1.959963984540054)
    - 1.959963984540054 * sqrt(x * (n - x) / n + 1.959963984540054 * 1.959963984540054 / 4)
        / (n + 1.959963984540054 * 1.959963984540054))
end;

create or replace macro wilson_high(x, n) as
case when n > 0 then least(1.0,
    (x + 1.959963984540054 * 1.959963984540054 / 2) / (n + 1.959963984540054 * 1.959963984540054)
    + 1.959963984540054 * sqrt(x * (n - x) / n + 1.959963984540054 * 1.959963984540054 / 4)
        / (n + 1.959963984540054 * 1.959963984540054))
end
