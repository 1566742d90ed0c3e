//! A generated secret of each shape, embedded in generated surrounding text,
//! never survives scrubbing (as text, or anywhere in an event).

use bugstack_core::{Event, EventKind, Level, Scrubber, Timestamp};
use proptest::prelude::*;

/// Surrounding text: words and punctuation that are not secrets themselves.
fn around() -> impl Strategy<Value = String> {
    "[a-z ,.()\\[\\]]{0,30}"
}

fn sep() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just("\n"), Just(", "), Just("\t"), Just(" ("), Just("; ")]
}

/// (text containing the secret, the secret value).
fn secret() -> impl Strategy<Value = (String, String)> {
    let value = "[A-Za-z0-9]{12,32}";
    let spaced = "[A-Za-z0-9]{6,12} [A-Za-z0-9]{6,12}";
    let env_name = prop_oneof![
        Just("PASSWORD"),
        Just("DB_PASSWORD"),
        Just("SECRET_KEY"),
        Just("APP_SECRET"),
        Just("GITHUB_TOKEN"),
        Just("API_KEY"),
        Just("stripe_api_key"),
        Just("aws_secret_access_key"),
        Just("AWS_SECRET_ACCESS_KEY"),
    ];
    prop_oneof![
        (spaced.prop_map(String::from)).prop_map(|v| (format!(r#"{{"password": "{v}"}}"#), v)),
        (value.prop_map(String::from)).prop_map(|v| (format!(r#"{{"password":"{v}","user":"x"}}"#), v)),
        (env_name, value, prop_oneof![Just("="), Just(": "), Just(" = ")])
            .prop_map(|(n, v, eq)| (format!("{n}{eq}{v}"), v)),
        (prop_oneof![Just("live"), Just("test")], "[A-Za-z0-9]{16,32}")
            .prop_map(|(mode, v)| (format!("sk_{mode}_{v}"), v)),
        (
            prop_oneof![Just("RSA "), Just("EC "), Just(""), Just("OPENSSH ")],
            "[A-Za-z0-9+/]{20,64}",
            any::<bool>()
        )
            .prop_map(|(kind, body, ended)| {
                let end = if ended {
                    format!("\n-----END {kind}PRIVATE KEY-----")
                } else {
                    String::new()
                };
                (format!("-----BEGIN {kind}PRIVATE KEY-----\n{body}\n{body}{end}"), body)
            }),
        ("[a-z]{3,8}", value, "[a-z.]{3,12}")
            .prop_map(|(scheme, v, host)| (format!("{scheme}://:{v}@{host}:6379/0"), v)),
        ("[a-z]{3,8}", value).prop_map(|(name, v)| (format!("Cookie: {name}={v}; theme=dark"), v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_secrets_never_survive_scrubbing(
        (text, value) in secret(),
        before in around(),
        after in around(),
        s1 in sep(),
        s2 in sep(),
    ) {
        let whole = format!("{before}{s1}{text}{s2}{after}");
        let sc = Scrubber::default();
        let out = sc.scrub_str(&whole);
        prop_assert!(!out.contains(value.as_str()), "{value} survived: {out}");

        let mut e = Event::new(EventKind::Error, Level::Error, whole.clone(), Timestamp::from_millis(0));
        e.tags.insert("note".into(), whole.clone());
        e.fingerprint_parts.push(whole.clone());
        sc.scrub_event(&mut e);
        let json = serde_json::to_string(&e).unwrap();
        prop_assert!(!json.contains(value.as_str()), "{value} survived in the event: {json}");
    }
}
