//! Notifications: the dispatcher that delivers the outbox's messages
//! ([`workflow_store::outbox`]) by e-mail over SMTP and by signed webhook, at least
//! once, with retries and a dead letter after the last attempt (decision 0030,
//! `docs/notifications.md`).
//!
//! Each message is rendered from two templates named after its notice
//! (`NOTICE.subject`, `NOTICE.txt`): the defaults are compiled in, and a file of the same
//! name in the configured folder replaces one. Every delivery carries the message's
//! idempotency key: the e-mail's `Message-ID` (`<KEY@aduan>`) and
//! `X-Aduan-Idempotency-Key` header, the webhook's `X-Aduan-Idempotency-Key` header.
//! A webhook's body is signed: `X-Aduan-Signature: sha256=HEX(HMAC-SHA256(secret,
//! TIMESTAMP + "." + BODY))` with `X-Aduan-Timestamp: TIMESTAMP` (seconds since 1970).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use hmac::{Hmac, Mac};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use workflow_core::{Actor, ComplaintId};
use workflow_store::keys::Revealed;
use workflow_store::outbox::{Channel, DeliveryState, OutboxMessage, RetryPolicy, COMPLAINANT};
use workflow_store::Store;

/// The default templates, compiled in: (name, text).
const DEFAULTS: [(&str, &str); 14] = [
    (
        "disposed.subject",
        include_str!("../notifications/disposed.subject"),
    ),
    (
        "disposed.txt",
        include_str!("../notifications/disposed.txt"),
    ),
    (
        "ba_issued.subject",
        include_str!("../notifications/ba_issued.subject"),
    ),
    (
        "ba_issued.txt",
        include_str!("../notifications/ba_issued.txt"),
    ),
    (
        "breached.subject",
        include_str!("../notifications/breached.subject"),
    ),
    (
        "breached.txt",
        include_str!("../notifications/breached.txt"),
    ),
    (
        "responded.subject",
        include_str!("../notifications/responded.subject"),
    ),
    (
        "responded.txt",
        include_str!("../notifications/responded.txt"),
    ),
    (
        "progress.subject",
        include_str!("../notifications/progress.subject"),
    ),
    (
        "progress.txt",
        include_str!("../notifications/progress.txt"),
    ),
    (
        "at_risk.subject",
        include_str!("../notifications/at_risk.subject"),
    ),
    ("at_risk.txt", include_str!("../notifications/at_risk.txt")),
    (
        "digest.subject",
        include_str!("../notifications/digest.subject"),
    ),
    ("digest.txt", include_str!("../notifications/digest.txt")),
];

/// The SMTP relay messages go through.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// The relay's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The sender.
    pub from: String,
}

impl SmtpConfig {
    /// `smtp://HOST[:PORT]` (port 25 by default) and the sender's address.
    pub fn parse(url: &str, from: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("`{url}`: an SMTP relay is named smtp://HOST[:PORT]"))?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| anyhow::anyhow!("`{url}`: `{port}` is not a port"))?,
            ),
            None => (rest, 25),
        };
        if host.is_empty() {
            anyhow::bail!("`{url}`: no host");
        }
        from.parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("`{from}` is not a sender's address: {e}"))?;
        Ok(Self {
            host: host.to_owned(),
            port,
            from: from.to_owned(),
        })
    }
}

/// The webhook every notice is posted to.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where.
    pub url: String,
    /// The key of the signature (never logged).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &"***")
            .finish()
    }
}

/// What the dispatcher needs.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// E-mail, if configured.
    pub smtp: Option<SmtpConfig>,
    /// The webhook, if configured.
    pub webhook: Option<WebhookConfig>,
    /// A folder whose templates replace the defaults of the same name.
    pub templates: Option<PathBuf>,
    /// Attempts and backoff.
    pub retry: RetryPolicy,
    /// How long one delivery may take (connect, send, answer) before it counts as failed.
    pub timeout: Duration,
    /// How often the outbox is looked at when nothing was due.
    pub poll: Duration,
    /// How long a claim holds: a dispatcher that died mid-delivery leaves its messages
    /// to another after this. Longer than a delivery may take ([`NotifyConfig::timeout`]).
    pub lease: Duration,
    /// This dispatcher's name in the claims.
    pub worker: String,
}

impl NotifyConfig {
    /// Whether any channel is configured (without one, no dispatcher runs).
    pub fn any_channel(&self) -> bool {
        self.smtp.is_some() || self.webhook.is_some()
    }
}

/// The templates: the defaults, each replaceable by a file in the operator's folder.
#[derive(Debug)]
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    /// Loads and checks every template (a folder's file that does not parse is refused
    /// here, not at the first delivery).
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, default) in DEFAULTS {
            let text = match dir.map(|d| d.join(name)) {
                Some(path) if path.exists() => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading template {}", path.display()))?,
                _ => default.to_owned(),
            };
            env.add_template_owned(name, text)
                .with_context(|| format!("template {name}"))?;
        }
        Ok(Self { env })
    }

    /// The subject and body of `message` for `recipient` (a name).
    pub fn render(
        &self,
        message: &OutboxMessage,
        recipient: &str,
    ) -> anyhow::Result<(String, String)> {
        let mut context = message.context.clone();
        context["recipient"] = recipient.into();
        let name = message.notice.as_str();
        let subject = self
            .env
            .get_template(&format!("{name}.subject"))?
            .render(&context)?;
        let body = self
            .env
            .get_template(&format!("{name}.txt"))?
            .render(&context)?;
        Ok((subject.trim().replace(['\r', '\n'], " "), body))
    }
}

/// The header that carries the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "X-Aduan-Idempotency-Key";
/// The webhook's signature header.
pub const SIGNATURE_HEADER: &str = "X-Aduan-Signature";
/// The webhook's timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Aduan-Timestamp";

#[derive(Clone)]
struct IdempotencyKey(String);

impl Header for IdempotencyKey {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER)
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The e-mail `Message-ID` of a message's key: `<KEY@aduan>` with every character
/// outside letters, digits, `.`, `-` and `_` written as `=XX`.
pub fn message_id(key: &str) -> String {
    let mut id = String::from("<");
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            id.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                id.push_str(&format!("={b:02X}"));
            }
        }
    }
    id.push_str("@aduan>");
    id
}

/// The signature of a webhook's body: `sha256=HEX(HMAC-SHA256(secret, TIMESTAMP "." BODY))`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any size");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What became of one delivery.
enum Outcome {
    Sent,
    Skipped(String),
    Failed(String),
}

/// Delivers the outbox's messages.
pub struct Dispatcher {
    store: Arc<Store>,
    config: NotifyConfig,
    templates: Templates,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("config", &self.config)
            .finish()
    }
}

/// How many messages one round claims (and delivers one after another: a claim's lease
/// must outlast them all).
pub const BATCH: u32 = 4;

impl Dispatcher {
    /// A dispatcher over `store`; its templates are loaded and checked now.
    pub fn new(store: Arc<Store>, config: NotifyConfig) -> anyhow::Result<Self> {
        let templates = Templates::load(config.templates.as_deref())?;
        let mailer = config.smtp.as_ref().map(|smtp| {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                .port(smtp.port)
                .timeout(Some(config.timeout))
                .build()
        });
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            store,
            config,
            templates,
            mailer,
            http,
        })
    }

    /// The channels this dispatcher delivers: those configured. Messages of another
    /// channel stay pending for a host that has it (and show in the metrics and `aduan
    /// outbox list`), rather than being given up.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::new();
        if self.mailer.is_some() {
            channels.push(Channel::Email);
        }
        if self.config.webhook.is_some() {
            channels.push(Channel::Webhook);
        }
        channels
    }

    /// Claims the due messages of its channels and delivers them one after another;
    /// returns how many were claimed.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let claimed = self
            .store
            .claim_outbox(
                &self.config.worker,
                &self.channels(),
                Utc::now(),
                self.config.lease,
                BATCH,
                &self.config.retry,
            )
            .await?;
        let worker = self.config.worker.as_str();
        for message in &claimed {
            let outcome = self.deliver(message).await;
            let now = Utc::now();
            match outcome {
                Outcome::Sent => {
                    tracing::info!(key = %message.key, channel = message.channel.as_str(), "notification sent");
                    if !self.store.outbox_sent(&message.key, worker, now).await? {
                        tracing::warn!(key = %message.key, "sent after this dispatcher's lease lapsed; its new holder records the outcome");
                    }
                }
                Outcome::Skipped(reason) => {
                    tracing::info!(key = %message.key, %reason, "notification skipped");
                    self.store
                        .outbox_skipped(&message.key, worker, &reason, now)
                        .await?;
                }
                Outcome::Failed(error) => {
                    let state = self
                        .store
                        .outbox_failed(&message.key, worker, &error, &self.config.retry, now)
                        .await?;
                    if state == DeliveryState::Dead {
                        tracing::error!(key = %message.key, attempts = message.attempts, %error, "notification dead: attempts ran out");
                    } else {
                        tracing::warn!(key = %message.key, attempts = message.attempts, %error, "notification failed; will retry");
                    }
                }
            }
        }
        Ok(claimed.len())
    }

    /// Delivers until `shutdown` resolves. A delivery under way then is abandoned, as
    /// when the process dies: its message is taken again by a dispatcher once its lease
    /// lapses, and delivered under the same key (at least once).
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        loop {
            // A stop ends a round mid-delivery too: the messages it had claimed are
            // taken again once their lease lapses, under the same keys.
            let round = tokio::select! {
                round = self.run_once() => round,
                _ = &mut shutdown => return,
            };
            let wait = match round {
                Ok(n) if n as u32 >= BATCH => Duration::ZERO,
                Ok(_) => self.config.poll,
                Err(e) => {
                    tracing::warn!(error = %e, "the notification dispatcher failed; will retry");
                    self.config.poll
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn deliver(&self, message: &OutboxMessage) -> Outcome {
        match message.channel {
            Channel::Email => match &self.mailer {
                Some(_) => self.email(message).await,
                None => Outcome::Skipped("no SMTP relay is configured".into()),
            },
            Channel::Webhook => match &self.config.webhook {
                Some(hook) => self.webhook(hook, message).await,
                None => Outcome::Skipped("no webhook is configured".into()),
            },
        }
    }

    /// The recipient's name and address, or why there is none.
    async fn address(&self, message: &OutboxMessage) -> Result<(String, String), Outcome> {
        let failed = |e: &dyn std::fmt::Display| Outcome::Failed(e.to_string());
        if message.recipient == COMPLAINANT {
            let id: ComplaintId = message
                .complaint_id
                .parse()
                .map_err(|e: workflow_core::complaint::id::InvalidComplaintId| failed(&e))?;
            let complaint = self
                .store
                .engine()
                .load(&id)
                .await
                .map_err(|e| failed(&e))?;
            match self.store.reveal_identity(&id, &complaint).await {
                Ok(Some(Revealed::Identity(data))) => {
                    // Opened to address the complainant: recorded like every read.
                    self.store
                        .record_identity_read(&Actor::system(), &id, "notification", Utc::now())
                        .await
                        .map_err(|e| failed(&e))?;
                    match data.email.filter(|e| !e.trim().is_empty()) {
                        Some(email) => Ok((data.name, email)),
                        None => Err(Outcome::Skipped(
                            "the complainant gave no e-mail address".into(),
                        )),
                    }
                }
                Ok(Some(Revealed::Erased)) => Err(Outcome::Skipped(
                    "the complainant's identity was erased".into(),
                )),
                Ok(None) => Err(Outcome::Skipped("the complaint has no complainant".into())),
                Err(e) => Err(failed(&e)),
            }
        } else {
            match self.store.person_email(&message.recipient).await {
                Ok(Some(email)) => Ok((message.recipient.clone(), email)),
                Ok(None) => Err(Outcome::Skipped(format!(
                    "{} has no e-mail address or is disabled",
                    message.recipient
                ))),
                Err(e) => Err(failed(&e)),
            }
        }
    }

    async fn email(&self, message: &OutboxMessage) -> Outcome {
        let (Some(mailer), Some(smtp)) = (&self.mailer, &self.config.smtp) else {
            return Outcome::Skipped("no SMTP relay is configured".into());
        };
        let (name, address) = match self.address(message).await {
            Ok(to) => to,
            Err(outcome) => return outcome,
        };
        let (subject, body) = match self.templates.render(message, &name) {
            Ok(rendered) => rendered,
            Err(e) => return Outcome::Failed(format!("template: {e}")),
        };
        let to = match address.parse::<Mailbox>() {
            Ok(to) => to,
            Err(e) => return Outcome::Skipped(format!("not an e-mail address: {e}")),
        };
        let email = Message::builder()
            .from(smtp.from.parse().expect("checked when configured"))
            .to(to)
            .subject(subject)
            .message_id(Some(message_id(&message.key)))
            .header(IdempotencyKey(message.key.clone()))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body);
        let email = match email {
            Ok(email) => email,
            Err(e) => return Outcome::Failed(format!("building the e-mail: {e}")),
        };
        match tokio::time::timeout(self.config.timeout, mailer.send(email)).await {
            Ok(Ok(_)) => Outcome::Sent,
            // A relay's answer often repeats the recipient's address (`550 5.1.1
            // <budi@…>: rejected`): only its code is kept and logged, never its text.
            Ok(Err(e)) => Outcome::Failed(match e.status() {
                Some(code) => format!(
                    "SMTP: the relay answered {code} ({})",
                    if e.is_permanent() {
                        "permanent"
                    } else {
                        "transient"
                    }
                ),
                None => format!("SMTP: {e}"),
            }),
            Err(_) => Outcome::Failed("SMTP: timed out".into()),
        }
    }

    async fn webhook(&self, hook: &WebhookConfig, message: &OutboxMessage) -> Outcome {
        let body = serde_json::json!({
            "key": message.key,
            "notice": message.notice,
            "complaint_id": message.complaint_id,
            "sequence": message.sequence,
            "context": message.context,
        })
        .to_string();
        let timestamp = Utc::now().timestamp().to_string();
        let signed = signature(&hook.secret, &timestamp, body.as_bytes());
        let sent = self
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(IDEMPOTENCY_HEADER, &message.key)
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signed)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => Outcome::Sent,
            Ok(answer) => Outcome::Failed(format!("webhook answered {}", answer.status())),
            Err(e) if e.is_timeout() => Outcome::Failed("webhook: timed out".into()),
            // The URL may carry a token: it is not repeated.
            Err(e) => Outcome::Failed(format!("webhook: {}", e.without_url())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_store::outbox::Notice;

    fn message() -> OutboxMessage {
        OutboxMessage {
            key: "ADU-1/2/disposed/email/penghubung.pupr".into(),
            position: workflow_store::Position::ZERO,
            complaint_id: "ADU-1".into(),
            sequence: 2,
            notice: Notice::Disposed,
            channel: Channel::Email,
            recipient: "penghubung.pupr".into(),
            context: serde_json::json!({"complaint_id": "ADU-1", "agency": "PUPR", "at": "2026-11-30"}),
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Utc::now(),
            last_error: None,
            created_at: Utc::now(),
            sent_at: None,
        }
    }

    #[test]
    fn every_notice_has_both_templates_and_a_folder_replaces_one() {
        let defaults = Templates::load(None).unwrap();
        for notice in workflow_store::outbox::Notice::ALL {
            let mut m = message();
            m.notice = notice;
            let (subject, body) = defaults.render(&m, "Andi").unwrap();
            assert!(!subject.is_empty() && !subject.contains('\n'), "{notice:?}");
            assert!(body.contains("Andi"), "{notice:?}: {body}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("disposed.subject"),
            "Disposisi {{ complaint_id }} untuk {{ agency }}\n",
        )
        .unwrap();
        let replaced = Templates::load(Some(dir.path())).unwrap();
        let (subject, body) = replaced.render(&message(), "Andi").unwrap();
        assert_eq!(subject, "Disposisi ADU-1 untuk PUPR");
        assert!(
            body.contains("Pejabat Penghubung"),
            "the other stays: {body}"
        );
        std::fs::write(dir.path().join("breached.txt"), "{% if %}").unwrap();
        assert!(Templates::load(Some(dir.path())).is_err());
    }

    #[test]
    fn message_ids_and_signatures() {
        assert_eq!(
            message_id("ADU-1/2/disposed/email/penghubung.pupr"),
            "<ADU-1=2F2=2Fdisposed=2Femail=2Fpenghubung.pupr@aduan>"
        );
        // Python: hmac.new(b"key", b"1.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature(b"key", "1", b"{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert!(SmtpConfig::parse("smtp://127.0.0.1:2525", "aduan@kapuas.test").is_ok());
        assert!(SmtpConfig::parse("smtps://relay", "aduan@kapuas.test").is_err());
        assert!(SmtpConfig::parse("smtp://relay", "not an address").is_err());
        assert_eq!(SmtpConfig::parse("smtp://relay", "a@b.c").unwrap().port, 25);
    }
}
