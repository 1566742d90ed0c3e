use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

struct Struct;
struct StructVisitor;

impl<'de> Visitor<'de> for StructVisitor {
    type Value = Struct;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a struct")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Struct, A::Error> {
        map.next_key::<bool>()?;
        Ok(Struct)
    }
}

impl<'de> Deserialize<'de> for Struct {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Struct", &[], StructVisitor)
    }
}

#[test]
fn repro() {
    assert!(ron::from_str::<Struct>("(true: 4)").is_err());
}
