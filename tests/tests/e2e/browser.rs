//! Headless Chromium opens a school by its `<slug>.localhost` address.

use schoolplein_tests::browser::Browser;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb};

#[tokio::test]
async fn browser_opens_demo_localhost_and_sees_the_school() {
    let db = TestDb::fresh().await;
    db.create_school(
        Some("demo"),
        "Basisschool De Klimop",
        "Welkom in de browser",
    )
    .await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;

    let browser = Browser::start().await;
    browser
        .goto(&format!("http://demo.localhost:{}/", app.addr.port()))
        .await;
    assert_eq!(
        browser.text_of("#school-name").await,
        "Basisschool De Klimop"
    );
    assert_eq!(
        browser.text_of("#welcome-text").await,
        "Welkom in de browser"
    );
    assert!(browser.title().await.starts_with("Basisschool De Klimop"));
    browser.close().await;
}
