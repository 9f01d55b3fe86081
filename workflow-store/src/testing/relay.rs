//! A TCP relay on loopback that can go silent, for faults a link can have without
//! closing: a firewall's dropped state, an address moved away.

/// A TCP relay on loopback to a server (PostgreSQL's, in the tests) that can go silent: the
/// connections it relays stay open but pass nothing more either way, as a link a
/// firewall dropped without a word; connections made afterwards pass.
pub struct Relay {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    silenced: tokio::sync::watch::Sender<u64>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicU64>,
    _tasks: tokio::task::JoinSet<()>,
}

impl Relay {
    /// A relay to the PostgreSQL server of `url`, and `url` through it.
    pub async fn to_postgres(url: &str) -> (Relay, String) {
        use std::str::FromStr;
        let options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
        let relay = Relay::to(options.get_host(), options.get_port()).await;
        let server = format!("{}:{}", options.get_host(), options.get_port());
        let through = url.replacen(&server, &format!("127.0.0.1:{}", relay.port), 1);
        assert_ne!(through, url, "{url} names its server as {server}");
        (relay, through)
    }

    /// A relay to the server at `host`:`port`.
    async fn to(host: &str, port: u16) -> Relay {
        use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay_port = listener.local_addr().unwrap().port();
        let (silenced, silence) = tokio::sync::watch::channel(0u64);
        let mut tasks = tokio::task::JoinSet::new();
        let server = format!("{host}:{port}");
        /// One way of connection number `mine`, until it ends or goes silent.
        async fn pass(
            mut from: impl AsyncRead + Unpin,
            mut to: impl AsyncWrite + Unpin,
            mut silence: tokio::sync::watch::Receiver<u64>,
            mine: u64,
        ) {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = tokio::select! {
                    read = from.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    },
                    _ = silence.wait_for(|upto| *upto >= mine) => break,
                };
                let silent = *silence.borrow() >= mine;
                if silent || to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            // Silent, and open until the test ends.
            std::future::pending::<()>().await;
            drop((from, to));
        }
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = std::sync::Arc::clone(&accepted);
        tasks.spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            let mut mine = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                mine += 1;
                counted.store(mine, std::sync::atomic::Ordering::SeqCst);
                let Ok(upstream) = tokio::net::TcpStream::connect(&server).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (ur, uw) = upstream.into_split();
                links.spawn(pass(cr, uw, silence.clone(), mine));
                links.spawn(pass(ur, cw, silence.clone(), mine));
            }
        });
        Relay {
            port: relay_port,
            silenced,
            accepted,
            _tasks: tasks,
        }
    }

    /// Every connection relayed so far goes silent.
    pub fn silence_those_so_far(&self) {
        self.silenced
            .send_replace(self.accepted.load(std::sync::atomic::Ordering::SeqCst));
    }
}
