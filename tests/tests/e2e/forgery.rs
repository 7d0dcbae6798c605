//! Forms from another site are refused whatever they carry: the form token first, then the
//! browser's own word — `Sec-Fetch-Site: cross-site`, or an `Origin` that is not this host —
//! for url-encoded forms and file uploads alike; and opening a link changes nothing.

use schoolplein_kernel::Role;
use schoolplein_tests::school::{PASSWORD, member};
use schoolplein_tests::{TestApp, school_host};

#[tokio::test]
async fn a_form_with_the_right_token_from_another_origin_is_refused() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Oorsprong", "").await;
    let host = school_host(&school.slug);
    let mut parent = member(&app, &school, "Ouder Oorsprong", &[Role::Parent]).await;
    parent.client.get(&host, "/account").await;
    let own = format!("http://{host}");
    let png = {
        let picture = image::RgbImage::from_pixel(64, 64, image::Rgb([10, 120, 10]));
        let mut out = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encoded");
        out.into_inner()
    };
    for (origin, fetch_site, allowed) in [
        (None, None, true),
        (Some(own.as_str()), None, true),
        (Some(own.as_str()), Some("same-origin"), true),
        (Some("http://evil.example"), None, false),
        (Some("https://evil.example"), Some("same-site"), false),
        (Some("null"), None, false),
        (
            Some(&format!("http://other.{}", schoolplein_tests::BASE_DOMAIN)),
            None,
            false,
        ),
        (Some(&format!("{own}:8443")), None, false),
        (None, Some("cross-site"), false),
    ] {
        let mut client = parent.client.clone();
        if let Some(origin) = origin {
            client
                .extra_headers
                .push(("Origin".into(), origin.to_owned()));
        }
        if let Some(site) = fetch_site {
            client
                .extra_headers
                .push(("Sec-Fetch-Site".into(), site.to_owned()));
        }
        // A url-encoded form (a change of name) and a file upload (a photo).
        let form = client
            .post_form(
                &host,
                "/account/profile",
                &[("name", "Ouder Oorsprong"), ("language", "nl")],
            )
            .await;
        let upload = client
            .post_file_as(&host, "/children/photo", "photo", "ik.png", &png, None)
            .await;
        for (what, answer) in [("form", &form), ("upload", &upload)] {
            if allowed {
                assert!(
                    answer.status < 400,
                    "{what} from {origin:?} {fetch_site:?}: {} {}",
                    answer.status,
                    answer.text()
                );
            } else {
                assert_eq!(answer.status, 403, "{what} from {origin:?} {fetch_site:?}");
            }
        }
    }
    // A sign-in form from another origin signs nobody in.
    let mut stranger = schoolplein_tests::client::Client::new(app.addr);
    stranger.get(&host, "/sign-in").await;
    stranger
        .extra_headers
        .push(("Origin".into(), "http://evil.example".into()));
    let refused = stranger
        .post_form(
            &host,
            "/sign-in",
            &[("email", &parent.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(stranger.cookie(&host, "sp_session"), None);
}
