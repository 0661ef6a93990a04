//! The binary form of JSON values: an enum tagged by variant index, so that formats which
//! cannot describe themselves (postcard) can carry `serde_json::Value`s. Human-readable
//! formats get the values' ordinary JSON form.

use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// How deep a decoded value may nest, as `serde_json`'s own limit: hostile bytes must not
/// overflow the stack.
const MAX_DEPTH: u32 = 128;

const VARIANTS: &[&str] = &[
    "Null", "Bool", "U64", "I64", "F64", "String", "Array", "Object",
];

/// `#[serde(with)]` for a `Value` field.
pub(super) mod value {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Value,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            value.serialize(serializer)
        } else {
            Binary(value).serialize(serializer)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Value, D::Error> {
        if deserializer.is_human_readable() {
            Value::deserialize(deserializer)
        } else {
            Seed { depth: 0 }.deserialize(deserializer)
        }
    }
}

/// `#[serde(with)]` for a `json_patch::Patch` field: in binary formats the patch travels as
/// the binary form of its JSON value.
pub(super) mod patch {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        patch: &json_patch::Patch,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            patch.serialize(serializer)
        } else {
            let value = serde_json::to_value(patch).map_err(serde::ser::Error::custom)?;
            Binary(&value).serialize(serializer)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<json_patch::Patch, D::Error> {
        if deserializer.is_human_readable() {
            json_patch::Patch::deserialize(deserializer)
        } else {
            let value = Seed { depth: 0 }.deserialize(deserializer)?;
            serde_json::from_value(value).map_err(de::Error::custom)
        }
    }
}

/// A value written in the binary form.
struct Binary<'a>(&'a Value);

impl Serialize for Binary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit_variant("Value", 0, "Null"),
            Value::Bool(b) => s.serialize_newtype_variant("Value", 1, "Bool", b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    s.serialize_newtype_variant("Value", 2, "U64", &u)
                } else if let Some(i) = n.as_i64() {
                    s.serialize_newtype_variant("Value", 3, "I64", &i)
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    s.serialize_newtype_variant("Value", 4, "F64", &f)
                }
            }
            Value::String(text) => s.serialize_newtype_variant("Value", 5, "String", text),
            Value::Array(items) => s.serialize_newtype_variant("Value", 6, "Array", &Items(items)),
            Value::Object(map) => s.serialize_newtype_variant("Value", 7, "Object", &Entries(map)),
        }
    }
}

struct Items<'a>(&'a [Value]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&Binary(item))?;
        }
        seq.end()
    }
}

struct Entries<'a>(&'a Map<String, Value>);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, &Binary(value))?;
        }
        map.end()
    }
}

/// Reads one value in the binary form, `depth` levels down.
#[derive(Clone, Copy)]
struct Seed {
    depth: u32,
}

impl Seed {
    fn child<E: de::Error>(self) -> Result<Seed, E> {
        if self.depth >= MAX_DEPTH {
            Err(E::custom(format_args!(
                "a value nests deeper than {MAX_DEPTH} levels"
            )))
        } else {
            Ok(Seed {
                depth: self.depth + 1,
            })
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_enum("Value", VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value in binary form")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (index, variant): (u32, _) = data.variant()?;
        Ok(match index {
            0 => {
                variant.unit_variant()?;
                Value::Null
            }
            1 => Value::Bool(variant.newtype_variant()?),
            2 => Value::Number(variant.newtype_variant::<u64>()?.into()),
            3 => Value::Number(variant.newtype_variant::<i64>()?.into()),
            4 => {
                let f: f64 = variant.newtype_variant()?;
                Value::Number(
                    Number::from_f64(f)
                        .ok_or_else(|| de::Error::custom("a number that is not finite"))?,
                )
            }
            5 => Value::String(variant.newtype_variant()?),
            6 => variant.newtype_variant_seed(ArraySeed(self.child()?))?,
            7 => variant.newtype_variant_seed(ObjectSeed(self.child()?))?,
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(other.into()),
                    &"a value variant from 0 to 7",
                ));
            }
        })
    }
}

struct ArraySeed(Seed);

impl<'de> DeserializeSeed<'de> for ArraySeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The length comes from the input: do not trust it for the allocation.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(self.0)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
}

struct ObjectSeed(Seed);

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(self.0)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}
