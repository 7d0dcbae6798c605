//! Hostile Host headers: every one gets a 400 or a 404, never a 5xx and never a school that
//! was not asked for.

use schoolplein_tests::http::send_raw;
use schoolplein_tests::{BASE_DOMAIN, TestApp, school_host};

/// Raw requests (request line and headers, without the final blank line) with what the
/// answer must be: `Some(400)`/`Some(404)` exactly, or `None` for "400 or 404".
fn hostile_requests(slug: &str) -> Vec<(Vec<u8>, Option<u16>)> {
    let get = |host: &str| {
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n").into_bytes()
    };
    let mut cases: Vec<(Vec<u8>, Option<u16>)> = Vec::new();
    let not_found = [
        "evil.com".to_owned(),
        "evil.com:80".to_owned(),
        format!("{slug}.evil.com"),
        format!("{slug}.{BASE_DOMAIN}.evil.com"),
        format!("evil{BASE_DOMAIN}"),
        format!("a.{slug}.{BASE_DOMAIN}"),
        format!("onbekend.{BASE_DOMAIN}"),
        format!("xn--cole-9oa.{BASE_DOMAIN}"),
        format!("école.{BASE_DOMAIN}"),
        format!("ÉCOLE.{BASE_DOMAIN}"),
        "127.0.0.1".to_owned(),
        "127.0.0.1:8080".to_owned(),
        "[::1]".to_owned(),
        "[::1]:443".to_owned(),
        "localhost.localdomain".to_owned(),
        "💥.example".to_owned(),
        format!("{}.{BASE_DOMAIN}", "a".repeat(63)),
        format!("{}.{BASE_DOMAIN}", "x".repeat(41)),
    ];
    for host in &not_found {
        cases.push((get(host), Some(404)));
    }
    for reserved in tenant_router::tenant::RESERVED_SLUGS
        .iter()
        .filter(|r| **r != "www")
    {
        cases.push((get(&format!("{reserved}.{BASE_DOMAIN}")), Some(404)));
        cases.push((
            get(&format!("{}.{BASE_DOMAIN}:443", reserved.to_uppercase())),
            Some(404),
        ));
    }
    let bad = [
        String::new(),
        " ".to_owned(),
        ":".to_owned(),
        ":80".to_owned(),
        "..".to_owned(),
        ".".to_owned(),
        format!("{slug}..{BASE_DOMAIN}"),
        format!("{slug}.{BASE_DOMAIN}:"),
        format!("{slug}.{BASE_DOMAIN}:0"),
        format!("{slug}.{BASE_DOMAIN}:65536"),
        format!("{slug}.{BASE_DOMAIN}:99999999999"),
        format!("{slug}.{BASE_DOMAIN}:-1"),
        format!("{slug}.{BASE_DOMAIN}:80:80"),
        format!("{slug}.{BASE_DOMAIN}:http"),
        format!("{slug}_x.{BASE_DOMAIN}"),
        format!("{slug}-.{BASE_DOMAIN}"),
        format!("-{slug}.{BASE_DOMAIN}"),
        format!("{slug} x.{BASE_DOMAIN}"),
        format!("{slug}.{BASE_DOMAIN}/path"),
        format!("user@{slug}.{BASE_DOMAIN}"),
        format!("{slug}.{BASE_DOMAIN}.."),
        "[::1".to_owned(),
        "[zz::1]".to_owned(),
        "[::1]x".to_owned(),
        "::1".to_owned(),
        "a".repeat(10 * 1024),
        format!("{}.{BASE_DOMAIN}", "a".repeat(64)),
        format!("{}.{BASE_DOMAIN}", vec!["abcdefghij"; 30].join(".")),
        "%2e%2e".to_owned(),
        "a\\b".to_owned(),
        "<script>".to_owned(),
        "a'b".to_owned(),
        "a\"b".to_owned(),
    ];
    for host in &bad {
        cases.push((get(host), Some(400)));
    }
    // Bytes that are not UTF-8, control characters, and no Host at all.
    let mut invalid_utf8 = b"GET / HTTP/1.1\r\nHost: ".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, b'.', b'n', b'l']);
    invalid_utf8.extend_from_slice(b"\r\nConnection: close\r\n");
    cases.push((invalid_utf8, None));
    cases.push((
        b"GET / HTTP/1.1\r\nHost: a\x01b\r\nConnection: close\r\n".to_vec(),
        None,
    ));
    cases.push((
        b"GET / HTTP/1.1\r\nConnection: close\r\n".to_vec(),
        Some(400),
    ));
    cases.push((b"GET / HTTP/1.0\r\n".to_vec(), Some(400)));
    // Several Host headers, even when they agree.
    let school = format!("{slug}.{BASE_DOMAIN}");
    for (a, b) in [
        (school.as_str(), "evil.com"),
        ("evil.com", school.as_str()),
        (school.as_str(), school.as_str()),
    ] {
        cases.push((
            format!("GET / HTTP/1.1\r\nHost: {a}\r\nHost: {b}\r\nConnection: close\r\n")
                .into_bytes(),
            Some(400),
        ));
    }
    // X-Forwarded-Host is ignored unless a proxy is trusted: the Host header decides.
    cases.push((
        format!("GET / HTTP/1.1\r\nHost: evil.com\r\nX-Forwarded-Host: {school}\r\nConnection: close\r\n").into_bytes(),
        Some(404),
    ));
    // Absolute-form request targets carry their own authority.
    cases.push((
        b"GET http://evil.com/ HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n".to_vec(),
        Some(404),
    ));
    // Variations in case, port and trailing dots of hosts that do not exist.
    let mut i = 0;
    while cases.len() < 200 {
        let host = match i % 4 {
            0 => format!("nope{i}.{BASE_DOMAIN}"),
            1 => format!("NOPE{i}.{}:8{i}", BASE_DOMAIN.to_uppercase()),
            2 => format!("nope{i}.{BASE_DOMAIN}.:443"),
            _ => format!("{slug}{i}.evil.com."),
        };
        cases.push((get(&host), Some(404)));
        i += 1;
    }
    cases
}

#[tokio::test]
async fn two_hundred_hostile_hosts_get_400_or_404_never_5xx() {
    let app = TestApp::spawn().await;
    let school = app
        .create_school("Doelwitschool Canary", "geheime welkomsttekst")
        .await;
    let cases = hostile_requests(school.slug.as_str());
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    for (mut request, expected) in cases {
        request.extend_from_slice(b"\r\n");
        let shown = String::from_utf8_lossy(&request[..request.len().min(120)]).into_owned();
        let response = send_raw(app.addr, &request)
            .await
            .unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        match expected {
            Some(status) => assert_eq!(response.status, status, "{shown:?}"),
            None => assert!(
                matches!(response.status, 400 | 404),
                "{shown:?} got {}",
                response.status
            ),
        }
        let body = response.text();
        assert!(
            !body.contains("Doelwitschool Canary") && !body.contains("geheime"),
            "{shown:?} leaked the school"
        );
    }

    // The real host, in every spelling, still reaches the school.
    for host in [
        school_host(&school.slug),
        school_host(&school.slug).to_uppercase(),
        format!("{}.:8080", school_host(&school.slug)),
        format!("{}.localhost:1", school.slug),
        // IDNA maps a zero-width space to nothing, exactly as browsers do.
        format!("{}\u{200b}", school_host(&school.slug)),
    ] {
        let response = app.get(&host, "/").await;
        assert_eq!(response.status, 200, "{host}");
        assert!(response.text().contains("Doelwitschool Canary"), "{host}");
    }
}
