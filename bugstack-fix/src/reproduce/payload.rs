//! Seeds from the request's payload shape: when the event says which JSON
//! body the service was handling ([`RequestContext::payload_shape`]), the
//! search starts from bodies of that shape — its keys, each leaf holding
//! a boundary value — so a function that parses the raw body is called
//! with the structure that failed, not only with the crate's literals.
//!
//! The shape carries no values (by design the event never keeps them), so
//! every value here is made up: one body per kind of boundary value, bodies
//! missing a top-level key, and the keys themselves (code looks fields up
//! by name).
//!
//! [`RequestContext::payload_shape`]: bugstack_core::RequestContext::payload_shape

use bugstack_core::Shape;
use serde_json::{Map, Value};

use super::harness::Seeds;

/// Longest body kept as a seed: the harness writes seeds as literals, and a
/// found input is kept only under the harness's 4,096-character limit.
const MAX_BODY: usize = 2_048;

/// Most top-level keys a body is made without (one body each).
const MAX_MISSING: usize = 4;

/// Most keys kept as seeds of their own.
const MAX_KEYS: usize = 8;

/// What every leaf of one made-up body holds.
#[derive(Debug, Clone, Copy)]
enum Fill {
    /// `"a"`, `1`, `true`, one-element arrays.
    Typical,
    /// `""`, `0`, `false`, empty arrays.
    Empty,
    /// `"-1"`, `-1`.
    Negative,
    /// A 256-char string, `u64::MAX`.
    Large,
    /// A multibyte string, `0.5`.
    Odd,
    /// `null` for every value.
    Null,
}

const FILLS: [Fill; 6] = [
    Fill::Typical,
    Fill::Empty,
    Fill::Negative,
    Fill::Large,
    Fill::Odd,
    Fill::Null,
];

/// The seeds of a body of `shape`: its JSON texts (as strings and as
/// bytes) and its keys, first come first.
pub(crate) fn seeds(shape: &Shape) -> Seeds {
    let mut bodies: Vec<Value> = FILLS.iter().map(|&fill| body(shape, fill)).collect();
    if let Shape::Object { fields, .. } = shape {
        for key in fields.keys().take(MAX_MISSING) {
            if let Value::Object(mut map) = body(shape, Fill::Typical) {
                map.remove(key);
                bodies.push(Value::Object(map));
            }
        }
    }
    let mut seeds = Seeds::default();
    for text in bodies.iter().map(Value::to_string) {
        if text.len() <= MAX_BODY && !seeds.strings.contains(&text) {
            seeds.bytes.push(text.clone().into_bytes());
            seeds.strings.push(text);
        }
    }
    let mut keys = Vec::new();
    collect_keys(shape, &mut keys);
    for key in keys.into_iter().take(MAX_KEYS) {
        if !seeds.strings.contains(&key) {
            seeds.strings.push(key);
        }
    }
    seeds
}

/// A made-up body of `shape` whose leaves hold `fill`.
fn body(shape: &Shape, fill: Fill) -> Value {
    match (shape, fill) {
        (_, Fill::Null) if !matches!(shape, Shape::Object { .. } | Shape::Array { .. }) => Value::Null,
        (Shape::Null | Shape::Truncated, _) => Value::Null,
        (Shape::Bool, fill) => Value::Bool(!matches!(fill, Fill::Empty)),
        (Shape::Number, fill) => match fill {
            Fill::Empty => 0.into(),
            Fill::Negative => (-1).into(),
            Fill::Large => u64::MAX.into(),
            Fill::Odd => serde_json::Number::from_f64(0.5).map_or(Value::Null, Value::Number),
            Fill::Typical | Fill::Null => 1.into(),
        },
        (Shape::String, fill) => Value::String(match fill {
            Fill::Empty => String::new(),
            Fill::Negative => "-1".into(),
            Fill::Large => "a".repeat(256),
            Fill::Odd => "é日🦀".into(),
            Fill::Typical | Fill::Null => "a".into(),
        }),
        (Shape::Array { items }, fill) => match (items, fill) {
            (None, _) | (_, Fill::Empty) => Value::Array(Vec::new()),
            (Some(item), fill) => Value::Array(vec![body(item, fill)]),
        },
        (Shape::Object { fields, .. }, fill) => {
            let map: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), body(v, fill))).collect();
            Value::Object(map)
        }
    }
}

/// The object keys of `shape`, outermost first.
fn collect_keys(shape: &Shape, out: &mut Vec<String>) {
    match shape {
        Shape::Object { fields, .. } => {
            out.extend(fields.keys().cloned());
            fields.values().for_each(|v| collect_keys(v, out));
        }
        Shape::Array { items: Some(item) } => collect_keys(item, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart() -> Shape {
        let body = serde_json::json!({"items": [{"sku": "A-1", "qty": 2}], "coupon": null, "gift": true});
        Shape::of(&body, &Default::default())
    }

    #[test]
    fn bodies_keep_the_keys_and_hold_boundary_values() {
        let seeds = seeds(&cart());
        let s = &seeds.strings;
        assert!(
            s.contains(&r#"{"coupon":null,"gift":true,"items":[{"qty":1,"sku":"a"}]}"#.to_string()),
            "{s:?}"
        );
        assert!(
            s.contains(&r#"{"coupon":null,"gift":false,"items":[]}"#.to_string()),
            "{s:?}"
        );
        assert!(
            s.contains(&r#"{"coupon":null,"gift":true,"items":[{"qty":-1,"sku":"-1"}]}"#.to_string()),
            "{s:?}"
        );
        assert!(s.iter().any(|b| b.contains("18446744073709551615")), "{s:?}");
        assert!(s.iter().any(|b| b.contains("é日🦀") && b.contains("0.5")), "{s:?}");
        assert!(
            s.contains(&r#"{"coupon":null,"gift":null,"items":[{"qty":null,"sku":null}]}"#.to_string()),
            "{s:?}"
        );
        // Each top-level key left out once.
        assert!(s.contains(&r#"{"coupon":null,"gift":true}"#.to_string()), "{s:?}");
        assert!(
            s.contains(&r#"{"gift":true,"items":[{"qty":1,"sku":"a"}]}"#.to_string()),
            "{s:?}"
        );
        // The keys, outermost first.
        let keys: Vec<&str> = s.iter().filter(|k| !k.starts_with('{')).map(String::as_str).collect();
        assert_eq!(keys, ["coupon", "gift", "items", "qty", "sku"]);
        // The bodies as bytes too.
        assert_eq!(seeds.bytes.len(), s.len() - keys.len());
        assert!(seeds.bytes.iter().all(|b| b.starts_with(b"{")));
    }

    #[test]
    fn a_body_over_the_literal_limit_is_left_out() {
        let fields = (0..40)
            .map(|i| (format!("field_{i}"), serde_json::Value::String(String::new())))
            .collect();
        let shape = Shape::of(&serde_json::Value::Object(fields), &Default::default());
        let seeds = seeds(&shape);
        assert!(seeds.strings.iter().all(|s| s.len() <= MAX_BODY));
        // 40 strings of 256 chars are over it; the other bodies are kept.
        assert!(!seeds.strings.iter().any(|s| s.contains(&"a".repeat(256))));
        assert!(seeds.strings.iter().any(|s| s.contains(r#""field_0":"""#)));
    }

    #[test]
    fn a_scalar_or_array_body_is_seeded_too() {
        let seeds = seeds(&Shape::Array {
            items: Some(Box::new(Shape::Number)),
        });
        assert!(seeds.strings.contains(&"[]".to_string()), "{:?}", seeds.strings);
        assert!(seeds.strings.contains(&"[-1]".to_string()), "{:?}", seeds.strings);
        assert!(seeds.strings.contains(&"[null]".to_string()), "{:?}", seeds.strings);
    }
}
