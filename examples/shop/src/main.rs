//! Runs the shop. `SHOP_ADDR` picks the address (default 127.0.0.1:0, any
//! free port); the bound address is printed as `listening on ADDR`.

use std::io::Write;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Report panics and errors to bugstack. Endpoint, token, release and
    // environment come from the BUGSTACK_* environment variables.
    let _bugstack = bugstack_sdk::init(
        bugstack_sdk::Options::default()
            .in_app_prefix("shop")
            .service("shop", Some(env!("CARGO_PKG_VERSION").into())),
    );

    let addr = std::env::var("SHOP_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let app = shop::app().layer(bugstack_sdk::tower::RequestContextLayer::new());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
