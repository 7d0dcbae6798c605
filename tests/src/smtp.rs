//! A real SMTP server inside the test process: EHLO/HELO, MAIL, RCPT, DATA (with
//! dot-stuffing undone), RSET, NOOP and QUIT; optionally STARTTLS or implicit TLS, and
//! AUTH PLAIN. It records every message with its Message-ID before it answers `250`, so "the
//! client saw 250" implies "it is recorded". It can be stopped (connections are cut and new
//! ones refused), started again on the same port, and told to answer `451` to every MAIL
//! command.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_rustls::TlsAcceptor;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message with dot-stuffing undone, without the final `.` line.
    pub data: String,
    pub message_id: Option<String>,
    pub received_at: Instant,
    /// It came over TLS (STARTTLS or implicit).
    pub encrypted: bool,
    /// The user name the client signed in with, if any.
    pub signed_in_as: Option<String>,
}

/// How a TLS-speaking server offers TLS.
#[derive(Clone)]
pub enum ServerTls {
    /// Plain at first; the client upgrades with STARTTLS (and must, before MAIL).
    Starttls(TlsAcceptor),
    /// TLS from the first byte.
    Implicit(TlsAcceptor),
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Starttls(_) => "Starttls",
            Self::Implicit(_) => "Implicit",
        })
    }
}

/// What a server asks of its clients besides plain SMTP.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    pub tls: Option<ServerTls>,
    /// User name and password required (AUTH PLAIN) before MAIL.
    pub credentials: Option<(String, String)>,
}

impl ReceivedMail {
    /// A header's value (unfolded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.data, name)
    }
}

#[derive(Debug, Default)]
struct Shared {
    options: SmtpOptions,
    mails: Mutex<Vec<ReceivedMail>>,
    refuse_mail: AtomicBool,
    /// Recipients answered `550` (no such mailbox), as a bounce.
    unknown_recipients: Mutex<Vec<String>>,
    connections: Mutex<Vec<AbortHandle>>,
}

/// The server; it stops on drop.
#[derive(Debug)]
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> SmtpServer {
        Self::start_with(SmtpOptions::default()).await
    }

    /// Starts on a free port of 127.0.0.1, with TLS and sign-in as `options` say.
    pub async fn start_with(options: SmtpOptions) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("SMTP address");
        let mut server = SmtpServer {
            addr,
            shared: Arc::new(Shared {
                options,
                ..Shared::default()
            }),
            accept: None,
        };
        server.accept = Some(tokio::spawn(accept_loop(listener, server.shared.clone())));
        server
    }

    /// A server that is not running yet, on a port that was free a moment ago: mail sent to
    /// it is refused until [`resume`](Self::resume).
    pub async fn stopped() -> SmtpServer {
        let mut server = Self::start().await;
        server.stop();
        server
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Cuts every connection and stops listening: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for connection in self.shared.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }

    /// Listens again on the same port, keeping what was received so far.
    pub async fn resume(&mut self) {
        assert!(self.accept.is_none(), "the SMTP server is running already");
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                // The aborted accept task may still hold the socket for a moment.
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::task::yield_now().await;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => panic!("cannot listen on {} again: {error}", self.addr),
            }
        };
        self.accept = Some(tokio::spawn(accept_loop(listener, self.shared.clone())));
    }

    /// From now on, answer every MAIL command with `451` (try again later), or stop doing so.
    pub fn refuse_mail(&self, refuse: bool) {
        self.shared.refuse_mail.store(refuse, Ordering::SeqCst);
    }

    /// From now on, answer `550` (no such mailbox) to RCPT for `address`: a hard bounce.
    pub fn refuse_recipient(&self, address: &str) {
        self.shared
            .unknown_recipients
            .lock()
            .expect("lock")
            .push(address.to_ascii_lowercase());
    }

    /// From now on, accept mail for `address` again (its owner fixed their mailbox).
    pub fn accept_recipient(&self, address: &str) {
        let address = address.to_ascii_lowercase();
        self.shared
            .unknown_recipients
            .lock()
            .expect("lock")
            .retain(|refused| *refused != address);
    }

    /// Everything received so far, in order of arrival.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.shared.mails.lock().expect("lock").clone()
    }

    pub fn count(&self) -> usize {
        self.shared.mails.lock().expect("lock").len()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let task = tokio::spawn(session(stream, shared.clone()));
        let mut connections = shared.connections.lock().expect("lock");
        connections.retain(|c| !c.is_finished());
        connections.push(task.abort_handle());
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    match shared.options.tls.clone() {
        None => converse(stream, &shared, false, false).await.map(drop),
        Some(ServerTls::Implicit(acceptor)) => {
            let stream = acceptor.accept(stream).await?;
            converse(stream, &shared, true, false).await.map(drop)
        }
        Some(ServerTls::Starttls(acceptor)) => {
            let Some(stream) = converse(stream, &shared, false, true).await? else {
                return Ok(());
            };
            let stream = acceptor.accept(stream).await?;
            converse(stream, &shared, true, false).await.map(drop)
        }
    }
}

/// One SMTP conversation on `stream`. Returns the stream when the client asked for
/// STARTTLS (the caller wraps it and talks on), nothing when the conversation ended.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Shared,
    encrypted: bool,
    offer_starttls: bool,
) -> std::io::Result<Option<S>> {
    let mut reader = BufReader::new(stream);
    // After STARTTLS the client starts over with EHLO, without a new greeting.
    let after_starttls = encrypted && matches!(shared.options.tls, Some(ServerTls::Starttls(_)));
    if !after_starttls {
        reader
            .get_mut()
            .write_all(b"220 schoolplein-test ESMTP\r\n")
            .await?;
    }
    let ehlo = {
        let mut ehlo = String::from("250-schoolplein-test\r\n250-8BITMIME\r\n");
        if offer_starttls {
            ehlo.push_str("250-STARTTLS\r\n");
        }
        if shared.options.credentials.is_some() {
            ehlo.push_str("250-AUTH PLAIN\r\n");
        }
        ehlo.push_str("250 SIZE 10485760\r\n");
        ehlo
    };
    let tls_required = shared.options.tls.is_some() && !encrypted;
    let mut signed_in_as: Option<String> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let needs_auth = shared.options.credentials.is_some() && signed_in_as.is_none();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => ehlo.as_bytes(),
            "HELO" => b"250 schoolplein-test\r\n",
            "STARTTLS" if offer_starttls => {
                reader
                    .get_mut()
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                // Anything the client sent after STARTTLS in plain text is dropped here.
                return Ok(Some(reader.into_inner()));
            }
            "AUTH" => match (&shared.options.credentials, command.split(' ').nth(2)) {
                (Some((user, password)), Some(response)) if !tls_required => {
                    let expected = base64::engine::general_purpose::STANDARD
                        .encode(format!("\0{user}\0{password}"));
                    if response == expected {
                        signed_in_as = Some(user.clone());
                        b"235 2.7.0 Authentication successful\r\n"
                    } else {
                        b"535 5.7.8 Authentication credentials invalid\r\n"
                    }
                }
                _ => b"504 5.5.4 Unrecognized authentication type\r\n",
            },
            "MAIL" if tls_required => b"530 5.7.0 Must issue a STARTTLS command first\r\n",
            "MAIL" if needs_auth => b"530 5.7.0 Authentication required\r\n",
            "MAIL" if shared.refuse_mail.load(Ordering::SeqCst) => b"451 4.3.0 Try again later\r\n",
            "MAIL" => {
                mail_from = Some(path_of(&command));
                rcpt_to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" if mail_from.is_none() => b"503 5.5.1 MAIL first\r\n",
            "RCPT"
                if shared
                    .unknown_recipients
                    .lock()
                    .expect("lock")
                    .contains(&path_of(&command).to_ascii_lowercase()) =>
            {
                b"550 5.1.1 No such mailbox\r\n"
            }
            "RCPT" => {
                rcpt_to.push(path_of(&command));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" if rcpt_to.is_empty() => b"503 5.5.1 RCPT first\r\n",
            "DATA" => {
                reader
                    .get_mut()
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let data = read_data(&mut reader).await?;
                let mail = ReceivedMail {
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    message_id: header_value(&data, "message-id"),
                    data,
                    received_at: Instant::now(),
                    encrypted,
                    signed_in_as: signed_in_as.clone(),
                };
                shared.mails.lock().expect("lock").push(mail);
                b"250 2.0.0 OK queued\r\n"
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                reader.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(None);
            }
            _ => b"502 5.5.2 Command not recognised\r\n",
        };
        reader.get_mut().write_all(reply).await?;
    }
}

/// Reads the message up to the `.` line, undoing dot-stuffing (`..x` → `.x`).
async fn read_data<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> std::io::Result<String> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(String::from_utf8_lossy(&data).into_owned());
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

/// `MAIL FROM:<a@b> SIZE=1` → `a@b`.
fn path_of(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

fn header_value(data: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in data.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(value) = value.as_mut() {
                value.push_str(line.trim_start());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((header, rest)) = line.split_once(':')
            && header.eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_owned());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_and_unfolded() {
        let data = "Subject: one\r\n two\r\nMessage-ID: <a@b>\r\n\r\nMessage-ID: <body@x>\r\n";
        assert_eq!(header_value(data, "subject").as_deref(), Some("onetwo"));
        assert_eq!(header_value(data, "message-id").as_deref(), Some("<a@b>"));
        assert_eq!(path_of("MAIL FROM:<a@b.nl> SIZE=10"), "a@b.nl");
    }
}
