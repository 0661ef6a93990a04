//! Diffing a module's state against its last published JSON without building the new JSON:
//! a serializer that walks the state in step with the old value, compares as it goes, writes
//! RFC 6902 operations for what differs, and updates the old value in place.
//!
//! A one-field change in a large state costs one walk with comparisons and no allocation,
//! where `to_value` followed by `json_patch::diff` would build and compare a whole new tree.
//! Arrays are compared index by index (an insertion at the front replaces every later
//! element), as `json_patch::diff` does.

use std::fmt::{self, Display, Write as _};

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde::Serialize;
use serde::ser;
use serde_json::{Map, Value};

/// Why a state could not be diffed: it does not serialize to JSON.
#[derive(Debug)]
pub(crate) struct DiffError(String);

impl Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DiffError {}

impl ser::Error for DiffError {
    fn custom<T: Display>(msg: T) -> Self {
        DiffError(msg.to_string())
    }
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, DiffError> {
    serde_json::to_value(value).map_err(|e| DiffError(e.to_string()))
}

/// Updates `old` to the JSON of `new`, appending the operations that do the same to `ops`,
/// with paths under `prefix` (an RFC 6901 pointer, such as `/todos`).
///
/// On error `old` may be partly updated and `ops` describe exactly that part; the caller
/// recomputes `old` from scratch.
pub(crate) fn diff_into<T: Serialize + ?Sized>(
    old: &mut Value,
    new: &T,
    prefix: &str,
    ops: &mut Vec<PatchOperation>,
) -> Result<(), DiffError> {
    let mut path = Path {
        prefix: prefix.to_owned(),
        segments: Vec::new(),
    };
    new.serialize(Differ {
        old,
        path: &mut path,
        ops,
    })
}

/// Compares one value of the new state with `old`.
struct Differ<'a> {
    old: &'a mut Value,
    /// Where `old` is; a callee that extends it is trimmed back by its caller.
    path: &'a mut Path,
    ops: &'a mut Vec<PatchOperation>,
}

/// A JSON pointer kept as segments, written out only when an operation needs it: walking an
/// unchanged state formats no index and escapes no key.
pub(crate) struct Path {
    /// Already escaped.
    prefix: String,
    segments: Vec<Segment>,
}

enum Segment {
    Field(&'static str),
    Key(String),
    Index(usize),
}

impl Path {
    fn len(&self) -> usize {
        self.segments.len()
    }

    fn truncate(&mut self, len: usize) {
        self.segments.truncate(len);
    }

    fn push(&mut self, segment: Segment) {
        self.segments.push(segment);
    }
}

fn pointer(path: &Path) -> PointerBuf {
    let mut text = path.prefix.clone();
    for segment in &path.segments {
        match segment {
            Segment::Field(key) => push_token(&mut text, key),
            Segment::Key(key) => push_token(&mut text, key),
            Segment::Index(index) => {
                text.push('/');
                let _ = write!(text, "{index}");
            }
        }
    }
    // Paths are built from escaped tokens, so they always parse.
    PointerBuf::parse(text).unwrap_or_default()
}

pub(crate) fn push_token(path: &mut String, token: &str) {
    path.push('/');
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

impl Differ<'_> {
    /// The new value here is the scalar `new`: replace `old` if it differs.
    fn scalar(self, new: Value) -> Result<(), DiffError> {
        if *self.old != new {
            self.replace(new);
        }
        Ok(())
    }

    fn replace(self, new: Value) {
        self.ops.push(PatchOperation::Replace(ReplaceOperation {
            path: pointer(self.path),
            value: new.clone(),
        }));
        *self.old = new;
    }

    fn number(self, equal: bool, new: impl FnOnce() -> Value) -> Result<(), DiffError> {
        if !equal {
            self.replace(new());
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for Differ<'a> {
    type Ok = ();
    type Error = DiffError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Variant<'a, Seq<'a>>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Variant<'a, Object<'a>>;

    fn serialize_bool(self, v: bool) -> Result<(), DiffError> {
        let equal = self.old.as_bool() == Some(v);
        self.number(equal, || Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<(), DiffError> {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> Result<(), DiffError> {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> Result<(), DiffError> {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), DiffError> {
        let equal = match self.old {
            Value::Number(n) => n.as_i64() == Some(v),
            _ => false,
        };
        self.number(equal, || Value::from(v))
    }

    fn serialize_i128(self, v: i128) -> Result<(), DiffError> {
        let new = to_value(&v)?;
        self.scalar(new)
    }

    fn serialize_u8(self, v: u8) -> Result<(), DiffError> {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), DiffError> {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), DiffError> {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), DiffError> {
        let equal = match self.old {
            Value::Number(n) => n.as_u64() == Some(v),
            _ => false,
        };
        self.number(equal, || Value::from(v))
    }

    fn serialize_u128(self, v: u128) -> Result<(), DiffError> {
        let new = to_value(&v)?;
        self.scalar(new)
    }

    fn serialize_f32(self, v: f32) -> Result<(), DiffError> {
        self.serialize_f64(v.into())
    }

    fn serialize_f64(self, v: f64) -> Result<(), DiffError> {
        // As serde_json: a non-finite float is null.
        self.scalar(Value::from(v))
    }

    fn serialize_char(self, v: char) -> Result<(), DiffError> {
        let mut buffer = [0; 4];
        self.serialize_str(v.encode_utf8(&mut buffer))
    }

    fn serialize_str(self, v: &str) -> Result<(), DiffError> {
        let equal = self.old.as_str() == Some(v);
        self.number(equal, || Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), DiffError> {
        let new = to_value(v)?;
        self.scalar(new)
    }

    fn serialize_none(self) -> Result<(), DiffError> {
        self.scalar(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), DiffError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), DiffError> {
        self.scalar(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), DiffError> {
        self.scalar(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), DiffError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), DiffError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), DiffError> {
        let mut object = self.serialize_map(Some(1))?;
        object.entry(Segment::Field(variant), value)?;
        object.finish()
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'a>, DiffError> {
        if !self.old.is_array() {
            *self.old = Value::Array(Vec::with_capacity(len.unwrap_or(0)));
            // A new array: replace whatever was there, once it is built.
            return Ok(Seq {
                differ: self,
                index: 0,
                fresh: true,
            });
        }
        Ok(Seq {
            differ: self,
            index: 0,
            fresh: false,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, DiffError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a>, DiffError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<'a, Seq<'a>>, DiffError> {
        Variant::open(self, variant, |inner| inner.serialize_seq(Some(len)))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>, DiffError> {
        let fresh = !self.old.is_object();
        if fresh {
            *self.old = Value::Object(Map::new());
        }
        let _ = len;
        let old_len = self.old.as_object().map_or(0, Map::len);
        Ok(Object {
            differ: self,
            fresh,
            old_len,
            matched: 0,
            fields: [""; FIELDS],
            field_count: 0,
            keys: Vec::new(),
            key: None,
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'a>, DiffError> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<'a, Object<'a>>, DiffError> {
        Variant::open(self, variant, |inner| inner.serialize_map(Some(len)))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), DiffError> {
        self.serialize_str(&value.to_string())
    }
}

/// An array being compared.
pub(crate) struct Seq<'a> {
    differ: Differ<'a>,
    index: usize,
    /// `old` was not an array: it is being built, and replaces the old value at the end.
    fresh: bool,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), DiffError> {
        let index = self.index;
        self.index += 1;
        let Value::Array(items) = &mut *self.differ.old else {
            unreachable!("a sequence's old value is an array")
        };
        if self.fresh {
            items.push(to_value(value)?);
            return Ok(());
        }
        if index < items.len() {
            let len = self.differ.path.len();
            self.differ.path.push(Segment::Index(index));
            let result = value.serialize(Differ {
                old: &mut items[index],
                path: self.differ.path,
                ops: self.differ.ops,
            });
            self.differ.path.truncate(len);
            result
        } else {
            let new = to_value(value)?;
            let len = self.differ.path.len();
            self.differ.path.push(Segment::Index(index));
            self.differ.ops.push(PatchOperation::Add(AddOperation {
                path: pointer(self.differ.path),
                value: new.clone(),
            }));
            self.differ.path.truncate(len);
            items.push(new);
            Ok(())
        }
    }

    fn finish(self) -> Result<(), DiffError> {
        let Differ { old, path, ops } = self.differ;
        if self.fresh {
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path: pointer(path),
                value: old.clone(),
            }));
            return Ok(());
        }
        let Value::Array(items) = old else {
            unreachable!("a sequence's old value is an array")
        };
        // Remove from the end, so each index is valid when its operation applies.
        while items.len() > self.index {
            let len = path.len();
            path.push(Segment::Index(items.len() - 1));
            ops.push(PatchOperation::Remove(RemoveOperation {
                path: pointer(path),
            }));
            path.truncate(len);
            items.pop();
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), DiffError> {
        self.element(value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), DiffError> {
        self.element(value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), DiffError> {
        self.element(value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.finish()
    }
}

/// An object being compared.
pub(crate) struct Object<'a> {
    differ: Differ<'a>,
    /// `old` was not an object: it is being built, and replaces the old value at the end.
    fresh: bool,
    /// How many keys `old` had.
    old_len: usize,
    /// How many new keys were already in `old`.
    matched: usize,
    /// The new keys, to find the old keys that are gone (needed only when not every old key
    /// matched). Struct field names go in `fields` without allocating.
    fields: [&'static str; FIELDS],
    field_count: usize,
    keys: Vec<String>,
    /// The key of a map entry whose value comes next.
    key: Option<String>,
}

/// How many struct field names an [`Object`] keeps without allocating.
const FIELDS: usize = 8;

impl Object<'_> {
    /// Diffs the entry `key`.
    fn entry<T: Serialize + ?Sized>(&mut self, key: Segment, value: &T) -> Result<(), DiffError> {
        let Value::Object(map) = &mut *self.differ.old else {
            unreachable!("an object's old value is an object")
        };
        let key_str = match &key {
            Segment::Field(field) => *field,
            Segment::Key(key) => key.as_str(),
            Segment::Index(_) => unreachable!("an object's keys are not indices"),
        };
        if self.fresh {
            map.insert(key_str.to_owned(), to_value(value)?);
            return Ok(());
        }
        match key {
            Segment::Field(field) if self.field_count < FIELDS => {
                self.fields[self.field_count] = field;
                self.field_count += 1;
            }
            _ => self.keys.push(key_str.to_owned()),
        }
        let len = self.differ.path.len();
        let result = match map.get_mut(key_str) {
            Some(old) => {
                self.matched += 1;
                self.differ.path.push(key);
                value.serialize(Differ {
                    old,
                    path: self.differ.path,
                    ops: self.differ.ops,
                })
            }
            None => {
                let owned = key_str.to_owned();
                self.differ.path.push(key);
                to_value(value).map(|new| {
                    self.differ.ops.push(PatchOperation::Add(AddOperation {
                        path: pointer(self.differ.path),
                        value: new.clone(),
                    }));
                    map.insert(owned, new);
                })
            }
        };
        self.differ.path.truncate(len);
        result
    }

    fn finish(self) -> Result<(), DiffError> {
        let Differ { old, path, ops } = self.differ;
        if self.fresh {
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path: pointer(path),
                value: old.clone(),
            }));
            return Ok(());
        }
        let Value::Object(map) = old else {
            unreachable!("an object's old value is an object")
        };
        if self.matched == self.old_len {
            // Every old key is still there.
            return Ok(());
        }
        let fields = &self.fields[..self.field_count];
        let gone: Vec<String> = map
            .keys()
            .filter(|key| !fields.contains(&key.as_str()) && !self.keys.contains(key))
            .cloned()
            .collect();
        for key in gone {
            let len = path.len();
            path.push(Segment::Key(key.clone()));
            ops.push(PatchOperation::Remove(RemoveOperation {
                path: pointer(path),
            }));
            path.truncate(len);
            map.remove(&key);
        }
        Ok(())
    }
}

/// The JSON object key of a map key, as serde_json writes it.
fn key_string<K: Serialize + ?Sized>(key: &K) -> Result<String, DiffError> {
    match to_value(key)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(DiffError(
            "a map key must be a string, a number or a bool".into(),
        )),
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), DiffError> {
        self.key = Some(key_string(key)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), DiffError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| DiffError("a map value without a key".into()))?;
        self.entry(Segment::Key(key), value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), DiffError> {
        self.entry(Segment::Field(key), value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.finish()
    }
}

/// An enum variant with fields: `{"Variant": <fields>}`, diffed as an object with one key.
pub(crate) struct Variant<'a, C> {
    inner: C,
    _outer: std::marker::PhantomData<&'a ()>,
}

impl<'a, C> Variant<'a, C> {
    fn open(
        differ: Differ<'a>,
        variant: &'static str,
        inner: impl FnOnce(Differ<'a>) -> Result<C, DiffError>,
    ) -> Result<Self, DiffError> {
        let Differ { old, path, ops } = differ;
        // The outer object must have exactly the variant's key.
        let same_variant = old
            .as_object()
            .is_some_and(|map| map.len() == 1 && map.contains_key(variant));
        if !same_variant {
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path: pointer(path),
                value: Value::Object(Map::from_iter([(variant.to_owned(), Value::Null)])),
            }));
            *old = Value::Object(Map::from_iter([(variant.to_owned(), Value::Null)]));
        }
        let Value::Object(map) = old else {
            unreachable!("the variant's object was just made")
        };
        let slot = map
            .get_mut(variant)
            .ok_or_else(|| DiffError("the variant's key is missing".into()))?;
        // The path stays extended by the variant for its fields; the caller that extended it
        // for this value trims it afterwards.
        path.push(Segment::Field(variant));
        Ok(Variant {
            inner: inner(Differ {
                old: slot,
                path,
                ops,
            })?,
            _outer: std::marker::PhantomData,
        })
    }
}

impl ser::SerializeTupleVariant for Variant<'_, Seq<'_>> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), DiffError> {
        self.inner.element(value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.inner.finish()
    }
}

impl ser::SerializeStructVariant for Variant<'_, Object<'_>> {
    type Ok = ();
    type Error = DiffError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), DiffError> {
        self.inner.entry(Segment::Field(key), value)
    }

    fn end(self) -> Result<(), DiffError> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::diff_into;

    fn check(old: Value, new: &Value) -> Vec<String> {
        let mut updated = old.clone();
        let mut ops = Vec::new();
        diff_into(&mut updated, new, "", &mut ops).unwrap();
        assert_eq!(&updated, new, "the old value is updated in place");
        let mut patched = old;
        json_patch::patch(&mut patched, &ops).unwrap();
        assert_eq!(&patched, new, "the operations turn old into new");
        ops.iter()
            .map(|op| serde_json::to_string(op).unwrap())
            .collect()
    }

    #[test]
    fn one_changed_field_is_one_operation() {
        let old = json!({"items": [{"id": 0, "done": false}, {"id": 1, "done": false}], "n": 1});
        let new = json!({"items": [{"id": 0, "done": false}, {"id": 1, "done": true}], "n": 1});
        assert_eq!(
            check(old, &new),
            [r#"{"op":"replace","path":"/items/1/done","value":true}"#]
        );
    }

    #[test]
    fn growing_and_shrinking_arrays_and_objects() {
        let ops = check(
            json!({"a": [1, 2, 3], "gone": 1, "x~/": 0}),
            &json!({"a": [1], "b": {"c": [4]}, "x~/": 1}),
        );
        insta::assert_snapshot!(ops.join("\n"), @r#"
        {"op":"remove","path":"/a/2"}
        {"op":"remove","path":"/a/1"}
        {"op":"add","path":"/b","value":{"c":[4]}}
        {"op":"replace","path":"/x~0~1","value":1}
        {"op":"remove","path":"/gone"}
        "#);
    }

    #[derive(serde::Serialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u32, h: u32 },
        Pair(u8, u8),
    }

    #[test]
    fn enums_diff_like_their_json() {
        for (old, new) in [
            (Shape::Dot, Shape::Circle(1.5)),
            (Shape::Rect { w: 1, h: 2 }, Shape::Rect { w: 1, h: 3 }),
            (Shape::Pair(1, 2), Shape::Rect { w: 1, h: 3 }),
            (Shape::Circle(2.0), Shape::Pair(3, 4)),
        ] {
            let old = serde_json::to_value(old).unwrap();
            let mut updated = old.clone();
            let mut ops = Vec::new();
            diff_into(&mut updated, &new, "", &mut ops).unwrap();
            let expected = serde_json::to_value(&new).unwrap();
            assert_eq!(updated, expected);
            let mut patched = old;
            json_patch::patch(&mut patched, &ops).unwrap();
            assert_eq!(patched, expected);
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3..3_i64).prop_map(Value::from),
            "[ab~/]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[ab~/]{0,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_diff_turns_any_value_into_any_other(old in json_value(), new in json_value()) {
            check(old, &new);
        }
    }
}
