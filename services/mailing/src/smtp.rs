//! SMTP connections of our own, with `TCP_NODELAY`, kept in a small pool and reused across mails.
//!
//! lettre writes a mail's body and the closing `\r\n.\r\n` in two writes. On a socket with
//! Nagle's algorithm on (lettre's own connections), the second write waits until the first is
//! acknowledged, and the receiver delays that ACK (~40 ms on Linux): each connection moved
//! 20–25 mails a second however fast both ends were. So the sockets are ours, with
//! `TCP_NODELAY`, and lettre only speaks SMTP over them (`AsyncSmtpConnection`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use schoolplein_kernel::config::{SmtpConfig, SmtpTls};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::MailError;

/// A parked connection unused for this long is closed (servers drop idle clients after a few
/// minutes anyway, RFC 5321 §4.5.3.2.7).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A parked connection idle for less than this is reused without a NOOP first. A server that
/// closed it meanwhile (a restart) costs that one mail an attempt, which the outbox retries;
/// checking every time would cost every mail a round trip.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Why a delivery failed. Replies are kept as lettre's error, which the caller reduces to a
/// kind and a code: the reply text may quote the address.
#[derive(Debug)]
pub enum SmtpFailure {
    /// No answer within `mail.smtp.timeout_secs`.
    Timeout,
    /// The TCP connection could not be opened.
    Connect(io::ErrorKind),
    /// The implicit-TLS handshake failed.
    Tls,
    /// Everything lettre reports: replies, STARTTLS, sign-in, a connection that broke.
    Smtp(smtp::Error),
}

/// How the connection is secured.
enum Security {
    None,
    /// Plain TCP, then `STARTTLS` (lettre upgrades our stream).
    Starttls(TlsParameters),
    /// TLS from the first byte, which lettre cannot do over a stream of ours: tokio-rustls.
    Implicit {
        connector: TlsConnector,
        server_name: ServerName<'static>,
    },
}

/// Opens SMTP connections: TCP with `TCP_NODELAY`, TLS as configured, EHLO, and sign-in.
pub struct Connector {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = match self.security {
            Security::None => "none",
            Security::Starttls(_) => "starttls",
            Security::Implicit { .. } => "tls",
        };
        f.debug_struct("Connector")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &tls)
            // Never the credentials themselves.
            .field("authenticates", &self.credentials.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let host = config.host.trim().to_owned();
        let extra_roots = match &config.ca_cert_path {
            Some(path) => read_certificates(path)?,
            None => Vec::new(),
        };
        let tls_error = |e: &dyn fmt::Display| MailError::Transport(format!("mail.smtp.tls: {e}"));
        let security = match config.tls {
            SmtpTls::None => Security::None,
            SmtpTls::Starttls => {
                let mut builder = TlsParameters::builder(host.clone());
                for root in &extra_roots {
                    let certificate =
                        Certificate::from_der(root.to_vec()).map_err(|e| tls_error(&e))?;
                    builder = builder.add_root_certificate(certificate);
                }
                Security::Starttls(builder.build_rustls().map_err(|e| tls_error(&e))?)
            }
            SmtpTls::Tls => {
                // The same trust as lettre's STARTTLS: the public roots (webpki-roots), the
                // configured extra CAs, TLS 1.2 or later, ring.
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                for root in extra_roots {
                    roots.add(root).map_err(|e| tls_error(&e))?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| tls_error(&e))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let server_name = ServerName::try_from(host.clone()).map_err(|_| {
                    MailError::Transport("mail.smtp.host is not a host name for TLS".into())
                })?;
                Security::Implicit {
                    connector: TlsConnector::from(Arc::new(tls)),
                    server_name,
                }
            }
        };
        let credentials = (!config.username.is_empty()).then(|| {
            Credentials::new(config.username.clone(), config.password.expose().to_owned())
        });
        Ok(Self {
            host,
            port: config.port,
            security,
            credentials,
            hello: ClientId::default(),
            timeout: Duration::from_secs(config.timeout_secs),
        })
    }

    /// A new connection, greeted, secured and signed in, within the timeout.
    pub async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpFailure> {
        let connected = async {
            let stream = self.open_stream().await?;
            let mut connection =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                    .await
                    .map_err(SmtpFailure::Smtp)?;
            if let Security::Starttls(parameters) = &self.security {
                connection
                    .starttls(parameters.clone(), &self.hello)
                    .await
                    .map_err(SmtpFailure::Smtp)?;
            }
            if let Some(credentials) = &self.credentials {
                connection
                    .auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(SmtpFailure::Smtp)?;
            }
            Ok(connection)
        };
        timeout(self.timeout, connected)
            .await
            .unwrap_or(Err(SmtpFailure::Timeout))
    }

    /// The socket every connection runs on: `TCP_NODELAY` set, wrapped in TLS for implicit TLS.
    pub async fn open_stream(&self) -> Result<SmtpStream, SmtpFailure> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SmtpFailure::Connect(e.kind()))?;
        tcp.set_nodelay(true)
            .map_err(|e| SmtpFailure::Connect(e.kind()))?;
        match &self.security {
            Security::Implicit {
                connector,
                server_name,
            } => {
                let tls = connector
                    .connect(server_name.clone(), tcp)
                    .await
                    .map_err(|_| SmtpFailure::Tls)?;
                Ok(SmtpStream::Tls(Box::new(tls)))
            }
            Security::None | Security::Starttls(_) => Ok(SmtpStream::Plain(tcp)),
        }
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, MailError> {
    let unreadable =
        |e: &dyn fmt::Display| MailError::Transport(format!("mail.smtp.ca_cert_path: {e}"));
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if certificates.is_empty() {
        return Err(unreadable(&"no certificate in the file"));
    }
    Ok(certificates)
}

/// A connection's socket, plain or in implicit TLS.
#[derive(Debug)]
pub enum SmtpStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl SmtpStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(tls) => tls.get_ref().0,
        }
    }
}

impl AsyncRead for SmtpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SmtpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Tls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}

impl AsyncTokioStream for SmtpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }
}

/// At most `size` connections, each used by one send at a time and parked in between.
#[derive(Debug, Clone)]
pub struct SmtpPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    connector: Connector,
    /// One per connection that may exist: a send holds one from checkout to parking.
    slots: Semaphore,
    /// Most recently parked last, and taken first, so that surplus connections go idle and
    /// are closed.
    idle: Mutex<Vec<Parked>>,
    reaper_started: AtomicBool,
}

impl fmt::Debug for PoolInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpPool")
            .field("connector", &self.connector)
            .field("free_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

struct Parked {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl SmtpPool {
    pub fn new(connector: Connector, size: usize) -> Self {
        Self {
            inner: Arc::new(PoolInner {
                connector,
                slots: Semaphore::new(size.max(1)),
                idle: Mutex::new(Vec::new()),
                reaper_started: AtomicBool::new(false),
            }),
        }
    }

    /// Sends one mail on a pooled connection (or a new one). A connection whose state is in
    /// doubt (an error lettre aborted it for, or a timeout) is dropped, never reused.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SmtpFailure> {
        let Ok(_slot) = self.inner.slots.acquire().await else {
            // The semaphore is never closed.
            return Err(SmtpFailure::Timeout);
        };
        let mut connection = self.checkout().await?;
        match timeout(
            self.inner.connector.timeout,
            connection.send(envelope, message),
        )
        .await
        {
            Ok(Ok(_reply)) => {
                self.park(connection);
                Ok(())
            }
            Ok(Err(error)) => {
                if !connection.has_broken() {
                    self.park(connection);
                }
                Err(SmtpFailure::Smtp(error))
            }
            // Cut off mid-conversation: the connection is dropped here.
            Err(_) => Err(SmtpFailure::Timeout),
        }
    }

    /// QUITs every parked connection (the worker is stopping).
    pub async fn close(&self) {
        let parked: Vec<Parked> = std::mem::take(&mut *self.inner.lock_idle());
        let quit_timeout = self.inner.connector.timeout;
        futures_util::future::join_all(
            parked
                .into_iter()
                .map(|parked| quit(parked.connection, quit_timeout)),
        )
        .await;
    }

    /// The most recently parked connection that still works, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, SmtpFailure> {
        loop {
            let parked = self.inner.lock_idle().pop();
            let Some(Parked {
                mut connection,
                since,
            }) = parked
            else {
                return self.inner.connector.connect().await;
            };
            let idle = since.elapsed();
            if idle >= IDLE_TIMEOUT {
                tokio::spawn(quit(connection, self.inner.connector.timeout));
                continue;
            }
            if idle < CHECK_AFTER_IDLE
                || timeout(self.inner.connector.timeout, connection.test_connected())
                    .await
                    .unwrap_or(false)
            {
                return Ok(connection);
            }
            tracing::debug!("dropping an SMTP connection that no longer answers");
        }
    }

    fn park(&self, connection: AsyncSmtpConnection) {
        self.inner.lock_idle().push(Parked {
            connection,
            since: Instant::now(),
        });
        if !self.inner.reaper_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(reap_idle(Arc::downgrade(&self.inner)));
        }
    }
}

impl PoolInner {
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Parked>> {
        // A panic while holding the lock leaves a plain Vec behind: still usable.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Closes connections that sat idle too long, until the pool is gone.
async fn reap_idle(pool: Weak<PoolInner>) {
    loop {
        tokio::time::sleep(IDLE_TIMEOUT / 2).await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        let expired: Vec<Parked> = {
            let mut idle = pool.lock_idle();
            let (expired, fresh) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|parked| parked.since.elapsed() >= IDLE_TIMEOUT);
            *idle = fresh;
            expired
        };
        let quit_timeout = pool.connector.timeout;
        drop(pool);
        for parked in expired {
            quit(parked.connection, quit_timeout).await;
        }
    }
}

async fn quit(mut connection: AsyncSmtpConnection, within: Duration) {
    let _ = timeout(within, connection.quit()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use schoolplein_kernel::config::Secret;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    fn config(port: u16, tls: SmtpTls) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls,
            username: String::new(),
            password: Secret::new(""),
            timeout_secs: 5,
            ca_cert_path: None,
        }
    }

    /// What keeps a connection from waiting ~40 ms per mail: every socket has TCP_NODELAY.
    #[tokio::test]
    async fn every_socket_is_opened_with_tcp_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        for tls in [SmtpTls::None, SmtpTls::Starttls] {
            let connector = Connector::new(&config(port, tls)).unwrap();
            let (stream, accepted) = tokio::join!(connector.open_stream(), listener.accept());
            let stream = stream.unwrap();
            assert!(matches!(stream, SmtpStream::Plain(_)));
            assert!(stream.tcp().nodelay().unwrap(), "{tls:?}");
            drop(accepted);
        }
    }

    /// A tiny SMTP server that accepts everything and counts the connections it was opened.
    async fn tiny_server(listener: TcpListener, opened: Arc<std::sync::atomic::AtomicUsize>) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            opened.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 tiny\r\n").await?;
                let mut in_data = false;
                while let Some(line) = lines.next_line().await? {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        b"250 queued\r\n"
                    } else if line.starts_with("EHLO") {
                        b"250-tiny\r\n250 8BITMIME\r\n"
                    } else if line.starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await?;
                        return Ok(());
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await?;
                }
                Ok::<_, io::Error>(())
            });
        }
    }

    #[tokio::test]
    async fn connections_are_reused_and_bounded_by_the_pool_size() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(tiny_server(listener, opened.clone()));
        let pool = SmtpPool::new(Connector::new(&config(port, SmtpTls::None)).unwrap(), 3);
        let envelope = Envelope::new(
            Some("a@example.nl".parse().unwrap()),
            vec!["b@example.nl".parse().unwrap()],
        )
        .unwrap();
        let sends = (0..60).map(|_| pool.send(&envelope, b"Subject: x\r\n\r\nhallo\r\n"));
        let results = futures_util::future::join_all(sends).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(opened.load(Ordering::SeqCst), 3, "connections for 60 mails");
        assert_eq!(pool.inner.lock_idle().len(), 3);
        pool.close().await;
        assert_eq!(pool.inner.lock_idle().len(), 0);
    }
}
