//! The test Worker: what a workers-rs Worker does with the crate. Each request tracks an
//! event and a log, and hands the flush to `ctx.wait_until`, so the response does not
//! wait for delivery and the runtime keeps the Worker alive until it is done.

use automagik_telemetry::{attrs, Config, LogSeverity, Telemetry};
use worker::{event, Context, Env, Error, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let endpoint = env.var("OTLP_ENDPOINT")?.to_string();
    let config = Config::new("rust-worker", "1.0.0")
        .endpoint(endpoint)
        .enabled(true);
    let t = Telemetry::new(config).map_err(|e| Error::RustError(e.to_string()))?;
    let path = req.path();
    t.track_event("worker.request", attrs! { "path" => path.as_str() });
    t.track_log("worker handled a request", LogSeverity::Info, attrs! {});
    ctx.wait_until(t.flush());
    Response::ok(path)
}
