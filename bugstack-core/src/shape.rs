//! Payload shapes: the structure of a JSON body — its types and keys — with
//! every value thrown away, so a request's payload can describe a bug without
//! carrying anyone's data.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The shape of a JSON value. Keys are kept, values never are.
///
/// ```
/// use bugstack_core::Shape;
/// let body = serde_json::json!({"items": [{"sku": "A-1", "qty": 2}], "coupon": null});
/// let shape = Shape::of(&body, &Default::default());
/// let json = serde_json::to_string(&shape).unwrap();
/// assert!(json.contains("sku") && !json.contains("A-1"));
/// ```
///
/// Deserializing enforces [`ShapeLimits::default`] as it reads: levels past
/// `max_depth` become [`Shape::Truncated`] (skipped unread), keys past
/// `max_keys` are counted in `omitted_keys`, long keys are cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Shape {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array; `items` is the shape of its first element (absent when empty).
    Array {
        /// Shape of the first element.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        items: Option<Box<Shape>>,
    },
    /// An object with its keys (at most [`ShapeLimits::max_keys`]).
    Object {
        /// Each kept key's shape.
        fields: BTreeMap<String, Shape>,
        /// Keys left out because of the limits.
        #[serde(default, skip_serializing_if = "is_zero")]
        omitted_keys: usize,
    },
    /// Deeper than [`ShapeLimits::max_depth`]: not described.
    Truncated,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Bounds on how much of a payload's structure is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Nesting depth past which a value becomes [`Shape::Truncated`].
    pub max_depth: usize,
    /// Keys kept per object (the rest are counted in `omitted_keys`).
    pub max_keys: usize,
    /// Longest key kept verbatim; longer keys are cut.
    pub max_key_len: usize,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        ShapeLimits {
            max_depth: 8,
            max_keys: 64,
            max_key_len: 64,
        }
    }
}

impl Shape {
    /// The shape of `value` within `limits`.
    pub fn of(value: &serde_json::Value, limits: &ShapeLimits) -> Shape {
        Self::of_at(value, limits, 0)
    }

    fn of_at(value: &serde_json::Value, limits: &ShapeLimits, depth: usize) -> Shape {
        use serde_json::Value;
        if depth >= limits.max_depth {
            return Shape::Truncated;
        }
        match value {
            Value::Null => Shape::Null,
            Value::Bool(_) => Shape::Bool,
            Value::Number(_) => Shape::Number,
            Value::String(_) => Shape::String,
            Value::Array(items) => Shape::Array {
                items: items.first().map(|v| Box::new(Self::of_at(v, limits, depth + 1))),
            },
            Value::Object(map) => {
                let mut fields = BTreeMap::new();
                for (k, v) in map.iter().take(limits.max_keys) {
                    let key: String = k.chars().take(limits.max_key_len).collect();
                    fields.insert(key, Self::of_at(v, limits, depth + 1));
                }
                Shape::Object {
                    fields,
                    omitted_keys: map.len().saturating_sub(limits.max_keys),
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ShapeSeed { depth: 0 }.deserialize(d)
    }
}

/// A shape at `depth` (the root is 0).
struct ShapeSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ShapeSeed {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        if self.depth >= ShapeLimits::default().max_depth {
            IgnoredAny::deserialize(d)?;
            return Ok(Shape::Truncated);
        }
        d.deserialize_map(self)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ShapeType {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
    Truncated,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ShapeKey {
    Type,
    Items,
    Fields,
    OmittedKeys,
    #[serde(other)]
    Other,
}

/// An optional nested shape (`items`).
struct ItemsSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Option<Box<Shape>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = Option<Box<Shape>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a shape or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        ShapeSeed { depth: self.depth }
            .deserialize(d)
            .map(|s| Some(Box::new(s)))
    }
}

/// An object's `fields` at `depth` (their shapes are one level deeper).
struct FieldsSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = (BTreeMap<String, Shape>, usize);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = (BTreeMap<String, Shape>, usize);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of shapes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let limits = ShapeLimits::default();
        let mut fields = BTreeMap::new();
        let mut omitted = 0usize;
        loop {
            if fields.len() < limits.max_keys {
                let Some(key) = map.next_key::<crate::bounded::Field>()? else {
                    break;
                };
                let key: String = key.0.chars().take(limits.max_key_len).collect();
                let shape = map.next_value_seed(ShapeSeed { depth: self.depth + 1 })?;
                fields.insert(key, shape);
            } else {
                if map.next_key::<IgnoredAny>()?.is_none() {
                    break;
                }
                map.next_value::<IgnoredAny>()?;
                omitted += 1;
            }
        }
        Ok((fields, omitted))
    }
}

impl<'de> Visitor<'de> for ShapeSeed {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a shape object with a \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut ty = None;
        let mut items = None;
        let mut fields = None;
        let mut omitted_keys = 0usize;
        while let Some(key) = map.next_key::<ShapeKey>()? {
            match key {
                ShapeKey::Type => ty = Some(map.next_value::<ShapeType>()?),
                ShapeKey::Items => items = map.next_value_seed(ItemsSeed { depth: self.depth + 1 })?,
                ShapeKey::Fields => fields = Some(map.next_value_seed(FieldsSeed { depth: self.depth })?),
                ShapeKey::OmittedKeys => omitted_keys = map.next_value::<usize>()?,
                ShapeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match ty.ok_or_else(|| de::Error::missing_field("type"))? {
            ShapeType::Null => Shape::Null,
            ShapeType::Bool => Shape::Bool,
            ShapeType::Number => Shape::Number,
            ShapeType::String => Shape::String,
            ShapeType::Truncated => Shape::Truncated,
            ShapeType::Array => Shape::Array { items },
            ShapeType::Object => {
                let (fields, cut) = fields.ok_or_else(|| de::Error::missing_field("fields"))?;
                Shape::Object {
                    fields,
                    omitted_keys: omitted_keys.saturating_add(cut),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_types_and_keys_never_values() {
        let v = json!({"email": "alice@example.com", "age": 41, "admin": true,
                       "tags": ["vip"], "address": {"zip": "12345"}, "note": null});
        let s = Shape::of(&v, &ShapeLimits::default());
        let out = serde_json::to_string(&s).unwrap();
        for secret in ["alice", "41", "vip", "12345", "true"] {
            assert!(!out.contains(secret), "{secret} leaked into {out}");
        }
        for key in ["email", "age", "admin", "tags", "address", "zip", "note"] {
            assert!(out.contains(key), "{key} missing from {out}");
        }
    }

    #[test]
    fn depth_and_width_are_bounded() {
        let mut v = json!(1);
        for _ in 0..100 {
            v = json!({ "a": v });
        }
        let limits = ShapeLimits {
            max_depth: 3,
            max_keys: 2,
            max_key_len: 4,
        };
        let s = Shape::of(&v, &limits);
        let out = serde_json::to_string(&s).unwrap();
        assert!(out.contains("truncated"));
        assert!(out.len() < 200, "{out}");

        let wide = json!({"k1": 1, "k2": 2, "k3": 3, "averyverylongkey": 4});
        match Shape::of(&wide, &limits) {
            Shape::Object { fields, omitted_keys } => {
                assert_eq!(fields.len(), 2);
                assert_eq!(omitted_keys, 2);
                assert!(fields.keys().all(|k| k.chars().count() <= 4));
            }
            other => panic!("expected object, got {other:?}"),
        }
    }
}
