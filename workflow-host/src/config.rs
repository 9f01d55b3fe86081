//! The configuration file: every option of `aduan` may also be set in a TOML file named
//! with `--config FILE` (or `ADUAN_CONFIG`). What wins: a flag on the command line, then
//! its environment variable, then the file, then the default.
//!
//! Top-level keys are the global options (`database_url`, `kek_file`,
//! `pg_lock_timeout`, …); a table per verb holds that verb's options (`[serve]`
//! `listen`, `evidence_dir`, `max_connections`, …). Names are the flags' long names,
//! with `_` or `-`. The file is read before the command line is parsed and its values
//! are checked with the flags' own parsers, so a bad value is refused naming the file
//! and the key; an unknown key or table is refused too (a misspelt setting must not be
//! ignored in silence).
//!
//! The file is read by this module rather than by a layered-configuration crate: the
//! options are clap's, and the file's values go through clap's own parsers and
//! precedence, so there is one definition of every option (its name, type, default
//! and environment variable) instead of two to keep in step.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::{Arg, ArgAction, Command, CommandFactory};
use serde::Serialize;

use crate::cli::Cli;

/// The environment variable that names the file when `--config` does not.
pub const ENV: &str = "ADUAN_CONFIG";

/// Where one option's value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The configuration file.
    File,
    /// Its environment variable, which the file gave way to.
    Environment,
    /// The command line, which the file gave way to.
    CommandLine,
}

/// One setting of the file, and whether it was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The verb's table, or `None` for a global option.
    pub section: Option<String>,
    /// The key, as the flag's long name.
    pub key: String,
    /// The value as the flag takes it.
    pub value: String,
    /// What was used: the file's value, or what overrode it.
    pub source: Source,
}

/// The file that was read and what it set.
#[derive(Clone, Debug, Serialize)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Its settings, in the file's order.
    pub settings: Vec<Setting>,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

/// The configuration file this process read, if any.
pub fn loaded() -> Option<&'static Loaded> {
    LOADED.get()
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not TOML.
    #[error("{path}: not TOML: {reason}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line.
        reason: String,
    },
    /// A key, table or value it may not hold.
    #[error("{path}: {key}: {reason}")]
    Setting {
        /// The file.
        path: PathBuf,
        /// `key` or `verb.key`.
        key: String,
        /// Why.
        reason: String,
    },
}

/// The command line with the file's settings put in where neither a flag nor an
/// environment variable sets them; the file is remembered for [`loaded`].
pub fn apply(argv: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    let Some(path) = named_file(&argv) else {
        return Ok(argv);
    };
    let (argv, loaded) = apply_file(argv, &path, |name| std::env::var_os(name).is_some())?;
    let _ = LOADED.set(loaded);
    Ok(argv)
}

/// The file `--config` or [`ENV`] names.
fn named_file(argv: &[OsString]) -> Option<PathBuf> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(ENV).map(PathBuf::from)
}

/// [`apply`] with the file and the environment given: what the tests drive.
fn apply_file(
    mut argv: Vec<OsString>,
    path: &Path,
    env_is_set: impl Fn(&str) -> bool,
) -> Result<(Vec<OsString>, Loaded), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_owned(),
            reason: e.to_string().trim().replace('\n', " "),
        })?;
    let root = Cli::command();
    let refuse = |key: &str, reason: String| ConfigError::Setting {
        path: path.to_owned(),
        key: key.to_owned(),
        reason,
    };
    let verb_at = verb_position(&root, &argv);
    let verb = verb_at.and_then(|i| argv[i].to_str().map(str::to_owned));
    let mut settings = Vec::new();
    let mut global = Vec::new();
    let mut own = Vec::new();
    for (key, value) in &table {
        if let toml::Value::Table(section) = value {
            let Some(sub) = root.find_subcommand(key) else {
                return Err(refuse(
                    key,
                    format!("no verb `{key}` (a table is a verb's options)"),
                ));
            };
            for (k, v) in section {
                let name = format!("{key}.{k}");
                let arg = find(sub, k)
                    .ok_or_else(|| refuse(&name, format!("`{key}` has no option `{k}`")))?;
                let values = values(sub, arg, v).map_err(|reason| refuse(&name, reason))?;
                let applies = verb.as_deref() == Some(key.as_str());
                // `config check` reports every table; a verb gets its own.
                if applies || verb.as_deref() == Some("config") {
                    let source = source(arg, &argv, &env_is_set);
                    if applies && source == Source::File {
                        own.extend(flag_with(arg, &values));
                    }
                    settings.push(setting(Some(key), arg, &values, source));
                }
            }
            continue;
        }
        let arg = find(&root, key).ok_or_else(|| refuse(key, format!("no option `{key}`")))?;
        if arg.get_id() == "config" {
            return Err(refuse(key, "the file cannot name another file".into()));
        }
        let values = values(&root, arg, value).map_err(|reason| refuse(key, reason))?;
        let source = source(arg, &argv, &env_is_set);
        if source == Source::File {
            global.extend(flag_with(arg, &values));
        }
        settings.push(setting(None, arg, &values, source));
    }
    // A verb's options go right after the verb, the global ones first of all: a flag
    // on the command line is never met again after them.
    if let Some(i) = verb_at {
        argv.splice(i + 1..i + 1, own);
    }
    argv.splice(1..1, global);
    Ok((
        argv,
        Loaded {
            path: path.to_owned(),
            settings,
        },
    ))
}

/// The index of the verb in the command line: the first word that is not an option or
/// an option's value.
fn verb_position(root: &Command, argv: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].to_str()?;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, _)) => (name, true),
                None => (long, false),
            };
            let takes_value = find(root, name).is_some_and(|a| a.get_action().takes_values());
            i += if takes_value && !inline { 2 } else { 1 };
            continue;
        }
        return root.find_subcommand(arg).map(|_| i);
    }
    None
}

/// The option `key` names in `command` (its long name, with `_` or `-`).
fn find<'a>(command: &'a Command, key: &str) -> Option<&'a Arg> {
    let long = key.replace('_', "-");
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))
}

/// What overrides the file for `arg`: a flag on the command line, its environment
/// variable, or nothing.
fn source(arg: &Arg, argv: &[OsString], env_is_set: &impl Fn(&str) -> bool) -> Source {
    let long = arg.get_long().unwrap_or_default();
    let flag = format!("--{long}");
    let inline = format!("--{long}=");
    let on_line = argv
        .iter()
        .skip(1)
        .any(|a| a == OsStr::new(&flag) || a.to_str().is_some_and(|a| a.starts_with(&inline)));
    if on_line {
        Source::CommandLine
    } else if arg
        .get_env()
        .and_then(OsStr::to_str)
        .is_some_and(env_is_set)
    {
        Source::Environment
    } else {
        Source::File
    }
}

/// The value (or values) of a key as the flag takes them, checked by the flag's own
/// parser.
fn values(_command: &Command, arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    let texts = match (value, arg.get_action()) {
        (toml::Value::Boolean(b), ArgAction::SetTrue) => vec![b.to_string()],
        (toml::Value::Boolean(_), _) => return Err("takes a value, not true or false".into()),
        (_, ArgAction::SetTrue) => return Err("is true or false".into()),
        (toml::Value::String(s), _) => vec![s.clone()],
        (toml::Value::Integer(n), _) => vec![n.to_string()],
        (toml::Value::Float(x), _) => vec![x.to_string()],
        (toml::Value::Array(items), ArgAction::Append) => items
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s.clone()),
                other => Ok(other.to_string()),
            })
            .collect::<Result<_, String>>()?,
        (other, _) => return Err(format!("cannot take {}", other.type_str())),
    };
    if !matches!(arg.get_action(), ArgAction::SetTrue) {
        // The flag alone, parsed as the command line would parse it.
        let alone = Command::new("aduan")
            .no_binary_name(true)
            .arg(arg.clone().env(None::<&str>).required(false));
        for text in &texts {
            let long = format!("--{}", arg.get_long().unwrap_or_default());
            alone
                .clone()
                .try_get_matches_from([long.as_str(), text.as_str()])
                .map_err(|e| {
                    e.to_string()
                        .lines()
                        .next()
                        .unwrap_or("invalid value")
                        .trim_start_matches("error: ")
                        .to_owned()
                })?;
        }
    }
    Ok(texts)
}

/// The flag and its values as they go on the command line.
fn flag_with(arg: &Arg, values: &[String]) -> Vec<OsString> {
    let flag = OsString::from(format!("--{}", arg.get_long().unwrap_or_default()));
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return if values.first().map(String::as_str) == Some("true") {
            vec![flag]
        } else {
            Vec::new()
        };
    }
    values
        .iter()
        .flat_map(|v| [flag.clone(), OsString::from(v)])
        .collect()
}

fn setting(section: Option<&str>, arg: &Arg, values: &[String], source: Source) -> Setting {
    Setting {
        section: section.map(str::to_owned),
        key: arg.get_long().unwrap_or_default().replace('-', "_"),
        value: values.join(", "),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("aduan")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    fn strings(argv: &[OsString]) -> Vec<String> {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn flag_beats_environment_beats_file_beats_default() {
        let f = file(
            "database_url = \"sqlite://file.db\"\npg-lock-timeout = \"2s\"\n\
             pg_statement_timeout = \"9s\"\n\n[serve]\nlisten = \"0.0.0.0:9000\"\n\
             metrics_public = true\nmax_in_flight = 64\n",
        );
        let env = |name: &str| name == "ADUAN_PG_STATEMENT_TIMEOUT";
        let (out, loaded) = apply_file(
            argv(&["--pg-lock-timeout", "1s", "serve", "--max-in-flight=8"]),
            f.path(),
            env,
        )
        .unwrap();
        assert_eq!(
            strings(&out),
            [
                "aduan",
                "--database-url",
                "sqlite://file.db",
                "--pg-lock-timeout",
                "1s",
                "serve",
                "--listen",
                "0.0.0.0:9000",
                "--metrics-public",
                "--max-in-flight=8",
            ]
        );
        let sources: Vec<(&str, &Source)> = loaded
            .settings
            .iter()
            .map(|s| (s.key.as_str(), &s.source))
            .collect();
        assert_eq!(
            sources,
            [
                ("database_url", &Source::File),
                ("pg_lock_timeout", &Source::CommandLine),
                ("pg_statement_timeout", &Source::Environment),
                ("listen", &Source::File),
                ("metrics_public", &Source::File),
                ("max_in_flight", &Source::CommandLine),
            ]
        );
        // What comes out parses, with the file's values in place.
        let cli = Cli::try_parse_from(out).unwrap();
        assert_eq!(cli.database_url, "sqlite://file.db");
    }

    #[test]
    fn another_verbs_table_is_checked_but_not_applied() {
        let f = file("[serve]\nlisten = \"0.0.0.0:9000\"\n[checkpoint]\nkey = \"k.key\"\n");
        let (out, loaded) = apply_file(argv(&["sla"]), f.path(), |_| false).unwrap();
        assert_eq!(strings(&out), ["aduan", "sla"]);
        assert!(loaded.settings.is_empty());
        let f = file("[serve]\nlisen = \"0.0.0.0:9000\"\n");
        let e = apply_file(argv(&["sla"]), f.path(), |_| false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: serve.lisen: `serve` has no option `lisen`",
                f.path().display()
            )
        );
    }

    #[test]
    fn bad_files_are_refused_naming_the_key() {
        for (text, key, why) in [
            ("pg_lock_timeout = \"soon\"\n", "pg_lock_timeout", "soon"),
            ("databse_url = \"x\"\n", "databse_url", "no option"),
            ("[serv]\nlisten = \"x\"\n", "serv", "no verb"),
            (
                "[serve]\nmax_connections = 0\n",
                "serve.max_connections",
                "0",
            ),
            (
                "[serve]\nmetrics_public = \"yes\"\n",
                "serve.metrics_public",
                "true or false",
            ),
            ("config = \"other.toml\"\n", "config", "another file"),
        ] {
            let f = file(text);
            let e = apply_file(argv(&["serve"]), f.path(), |_| false).unwrap_err();
            let message = e.to_string();
            assert!(
                message.contains(&format!(": {key}: ")) && message.contains(why),
                "{text}: {message}"
            );
        }
        let f = file("listen = [\n");
        assert!(matches!(
            apply_file(argv(&["serve"]), f.path(), |_| false),
            Err(ConfigError::Syntax { .. })
        ));
    }
}
