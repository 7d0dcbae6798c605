//! `schoolplein serve` with a certificate configured speaks HTTPS (rustls), and stops
//! gracefully on SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use schoolplein_tests::certificates::test_certificates;
use schoolplein_tests::http::{RawResponse, parse_response};
use schoolplein_tests::{TestDb, eventually, schoolplein_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

async fn https_get(
    connector: &TlsConnector,
    port: u16,
    host: &str,
    path: &str,
) -> std::io::Result<RawResponse> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(host.to_owned()).map_err(std::io::Error::other)?;
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut buffer = Vec::new();
    // A peer that closes without close_notify ends the read with an error; the response is
    // complete all the same.
    let _ = tls.read_to_end(&mut buffer).await;
    parse_response(&buffer)
}

#[tokio::test]
async fn serve_speaks_https_with_a_configured_certificate_and_stops_on_sigterm() {
    let db = TestDb::fresh().await;
    db.create_school(Some("veilig"), "Veilige School", "Welkom via HTTPS")
        .await;
    let dir = std::env::temp_dir().join(format!("schoolplein-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates(&dir);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = schoolplein_command(&db)
        .env("SCHOOLPLEIN__SERVER__TLS__CERT_PATH", dir.join("cert.pem"))
        .env("SCHOOLPLEIN__SERVER__TLS__KEY_PATH", dir.join("key.pem"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve starts");

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));

    let ready = eventually(Duration::from_secs(20), || async {
        https_get(&connector, port, "schoolplein.test", "/healthz")
            .await
            .is_ok_and(|r| r.status == 200)
    })
    .await;
    if ready.is_none() {
        let last = https_get(&connector, port, "schoolplein.test", "/healthz").await;
        panic!("the HTTPS server never answered: {last:?}");
    }
    let page = https_get(&connector, port, "veilig.schoolplein.test", "/")
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Welkom via HTTPS"));

    // Plain HTTP on the TLS port gets no page.
    let plain = schoolplein_tests::http::get(
        ([127, 0, 0, 1], port).into(),
        "veilig.schoolplein.test",
        "/",
        &[],
    )
    .await;
    assert!(plain.is_err() || !plain.unwrap().text().contains("Veilige School"));

    let pid = server.id().expect("running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::time::timeout(Duration::from_secs(15), server.wait())
        .await
        .expect("stopped in time")
        .unwrap();
    assert!(exit.success(), "serve exited with {exit:?} after SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}
