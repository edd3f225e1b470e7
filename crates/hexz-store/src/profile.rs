//! AWS shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`), read the way
//! the AWS CLI reads them: the profile named by `AWS_PROFILE`, else `default`.

use crate::Error;
use ini::Ini;
use std::path::PathBuf;

/// The settings of one profile that an S3 client needs. Fields are `None` when neither file
/// sets them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The profile `AWS_PROFILE` names (else `default`), from `AWS_SHARED_CREDENTIALS_FILE` (else
/// `~/.aws/credentials`) and `AWS_CONFIG_FILE` (else `~/.aws/config`). A profile named by
/// `AWS_PROFILE` that neither file has is an error; a missing `default` is not.
pub(crate) fn from_env() -> Result<Profile, Error> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let named = env("AWS_PROFILE");
    load(
        named.as_deref().unwrap_or("default"),
        named.is_some(),
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        file("AWS_CONFIG_FILE", "config"),
    )
}

fn load(
    name: &str,
    required: bool,
    credentials: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<Profile, Error> {
    let read = |path: &Option<PathBuf>| -> Result<Option<Ini>, Error> {
        match path {
            Some(p) if p.exists() => Ini::load_from_file(p)
                .map(Some)
                .map_err(|e| Error::Config(format!("cannot read AWS file {}: {e}", p.display()))),
            _ => Ok(None),
        }
    };
    let (creds, conf) = (read(&credentials)?, read(&config)?);
    // The credentials file names sections `[name]`; the config file `[profile name]`, except
    // that `[default]` may be written either way.
    let cred_section = creds.as_ref().and_then(|i| i.section(Some(name)));
    let conf_section = conf.as_ref().and_then(|i| {
        i.section(Some(format!("profile {name}")))
            .or_else(|| (name == "default").then(|| i.section(Some(name))).flatten())
    });
    if required && cred_section.is_none() && conf_section.is_none() {
        let show = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(no home directory)".into(), |p| p.display().to_string())
        };
        return Err(Error::Config(format!(
            "AWS_PROFILE={name}, but neither {} nor {} has that profile",
            show(&credentials),
            show(&config)
        )));
    }
    let get = |key: &str| {
        cred_section
            .and_then(|s| s.get(key))
            .or_else(|| conf_section.and_then(|s| s.get(key)))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Ok(Profile {
        access_key_id: get("aws_access_key_id"),
        secret_access_key: get("aws_secret_access_key"),
        session_token: get("aws_session_token"),
        region: get("region"),
        endpoint_url: get("endpoint_url"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> Option<PathBuf> {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        Some(p)
    }

    #[test]
    fn named_profile_from_both_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = write(
            dir.path(),
            "credentials",
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n\
             [dev]\naws_access_key_id = AK\naws_secret_access_key = SK\naws_session_token = T\n",
        );
        let conf = write(
            dir.path(),
            "config",
            "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = us-west-2\n\
             endpoint_url = http://127.0.0.1:9000\n",
        );
        let dev = load("dev", true, creds.clone(), conf.clone()).expect("dev");
        assert_eq!(dev.access_key_id.as_deref(), Some("AK"));
        assert_eq!(dev.secret_access_key.as_deref(), Some("SK"));
        assert_eq!(dev.session_token.as_deref(), Some("T"));
        assert_eq!(dev.region.as_deref(), Some("us-west-2"));
        assert_eq!(dev.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        let default = load("default", false, creds, conf).expect("default");
        assert_eq!(default.access_key_id.as_deref(), Some("D"));
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        assert_eq!(default.session_token, None);
    }

    #[test]
    fn missing_profile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = write(
            dir.path(),
            "credentials",
            "[default]\naws_access_key_id = D\n",
        );
        let err = load("nope", true, creds.clone(), None).expect_err("named and absent");
        assert!(err.to_string().contains("AWS_PROFILE=nope"), "{err}");
        // An absent default, or absent files, just means "nothing from a profile".
        assert_eq!(
            load("default", false, None, None).expect("ok"),
            Profile::default()
        );
        assert_eq!(
            load("other", false, creds, None).expect("ok"),
            Profile::default()
        );
    }
}
