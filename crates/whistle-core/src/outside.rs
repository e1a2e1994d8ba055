//! One time zone on the outside: inside (events, projections, the stored rows) every instant is
//! UTC; everything an integrator or a user reads — the JSON API, the citizen's tracking, the
//! live feed, the CLI's JSON — shows it in Beijing time, RFC 3339 with `+08:00`.
//!
//! [`InBeijing`] serializes any value as it would serialize itself, except that each instant
//! comes out in Beijing time. It tells instants from text by how they serialize: chrono writes
//! a date-time through `collect_str` (its `Display`), while text is written with `serialize_str`,
//! so a requester's words that happen to look like a timestamp are written as they were given.

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};
use std::fmt::Display;

/// `value`, serialized with every instant in Beijing time (`2025-10-09T09:00:00+08:00`).
pub struct InBeijing<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized + Serialize> Serialize for InBeijing<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Outside(serializer))
    }
}

/// An instant's RFC 3339 text in UTC rewritten in Beijing time; anything else as it is.
fn beijing_text(text: &str) -> Option<String> {
    if !text.ends_with('Z') && !text.ends_with("+00:00") {
        return None;
    }
    let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(
        at.with_timezone(&crate::time::beijing())
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
    )
}

/// The serializer wrapper: forwards everything, wrapping each nested value again.
struct Outside<S>(S);

macro_rules! forward {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(fn $method(self, value: $type) -> Result<Self::Ok, Self::Error> {
            self.0.$method(value)
        })*
    };
}

impl<S: Serializer> Serializer for Outside<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Outside<S::SerializeSeq>;
    type SerializeTuple = Outside<S::SerializeTuple>;
    type SerializeTupleStruct = Outside<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Outside<S::SerializeTupleVariant>;
    type SerializeMap = Outside<S::SerializeMap>;
    type SerializeStruct = Outside<S::SerializeStruct>;
    type SerializeStructVariant = Outside<S::SerializeStructVariant>;

    forward!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
        self.0.serialize_none()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Self::Ok, Self::Error> {
        self.0.serialize_some(&InBeijing(value))
    }

    fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
        self.0.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Self::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        self.0.serialize_newtype_struct(name, &InBeijing(value))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &InBeijing(value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        self.0.serialize_seq(len).map(Outside)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Self::Error> {
        self.0.serialize_tuple(len).map(Outside)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        self.0.serialize_tuple_struct(name, len).map(Outside)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Outside)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        self.0.serialize_map(len).map(Outside)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        self.0.serialize_struct(name, len).map(Outside)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Outside)
    }

    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<Self::Ok, Self::Error> {
        let text = value.to_string();
        match beijing_text(&text) {
            Some(beijing) => self.0.serialize_str(&beijing),
            None => self.0.serialize_str(&text),
        }
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// The compound serializers: each nested value wrapped again, the rest forwarded.
macro_rules! compound {
    ($trait:ident, $method:ident) => {
        impl<S: $trait> $trait for Outside<S> {
            type Ok = S::Ok;
            type Error = S::Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), S::Error> {
                self.0.$method(&InBeijing(value))
            }
            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        }
    };
    ($trait:ident) => {
        impl<S: $trait> $trait for Outside<S> {
            type Ok = S::Ok;
            type Error = S::Error;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                self.0.serialize_field(key, &InBeijing(value))
            }
            fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
                self.0.skip_field(key)
            }
            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);
compound!(SerializeStruct);
compound!(SerializeStructVariant);

impl<S: SerializeMap> SerializeMap for Outside<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), S::Error> {
        self.0.serialize_key(&InBeijing(key))
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&InBeijing(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

/// `value` as JSON with every instant in Beijing time.
pub fn to_value<T: ?Sized + Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(InBeijing(value)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_beijing;
    use serde::Serialize;

    #[derive(Serialize, schemars::JsonSchema)]
    #[serde(tag = "event", rename_all = "snake_case")]
    enum Event {
        Happened {
            at: crate::time::Timestamp,
            note: String,
        },
    }

    #[derive(Serialize, schemars::JsonSchema)]
    struct Outer {
        #[serde(flatten)]
        event: Event,
        when: Option<crate::time::Timestamp>,
        all: Vec<crate::time::Timestamp>,
    }

    #[test]
    fn instants_are_written_in_beijing_time_and_text_as_given() {
        let at = parse_beijing("2025-10-09 09:00").unwrap();
        let value = Outer {
            event: Event::Happened {
                at,
                note: "2025-10-09T01:00:00Z".into(),
            },
            when: Some(at + chrono::Duration::milliseconds(250)),
            all: vec![at],
        };
        assert_eq!(
            serde_json::to_string(&InBeijing(&value)).unwrap(),
            r#"{"event":"happened","at":"2025-10-09T09:00:00+08:00","note":"2025-10-09T01:00:00Z","when":"2025-10-09T09:00:00.250+08:00","all":["2025-10-09T09:00:00+08:00"]}"#
        );
        // Inside, the same value is UTC.
        assert!(serde_json::to_string(&value)
            .unwrap()
            .contains(r#""at":"2025-10-09T01:00:00Z""#));
    }
}
