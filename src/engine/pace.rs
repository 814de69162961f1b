//! How long work reports progress and, on the page, gives the browser a turn: the engine
//! calls [`Pace::tick`] between small steps and [`Pace::report`] when a stage starts or ends.
//! The page's pacer yields to the browser once a slice of time is used up; native callers
//! use [`Quiet`] or [`Progress`], which never wait.

/// Progress reports and pauses between steps of long work.
// The engine is single-threaded (the page's thread, or the CLI's), so the futures need no
// `Send` bound and `async fn` in the trait is what it needs.
#[allow(async_fn_in_trait)]
pub trait Pace {
    /// Say that `stage` is `fraction` done (0 to 1), now.
    fn report(&mut self, stage: &str, fraction: f64);
    /// Between two small steps of `stage`: report if it is time to, and on the page give the
    /// browser a turn once the current slice of work is used up.
    async fn tick(&mut self, stage: &str, fraction: f64);
    /// Give the event loop a turn now (the browser reports a lost GPU device this way).
    async fn yield_now(&mut self) {}
}

/// No reports, no pauses.
pub struct Quiet;

impl Pace for Quiet {
    fn report(&mut self, _: &str, _: f64) {}
    async fn tick(&mut self, _: &str, _: f64) {}
}

/// Every report and tick passed to a callback `(stage, fraction)`; never pauses.
pub struct Progress<F: FnMut(&str, f64)>(pub F);

impl<F: FnMut(&str, f64)> Pace for Progress<F> {
    fn report(&mut self, stage: &str, fraction: f64) {
        (self.0)(stage, fraction)
    }
    async fn tick(&mut self, stage: &str, fraction: f64) {
        (self.0)(stage, fraction)
    }
}
