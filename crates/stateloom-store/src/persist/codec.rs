//! Codecs: how a state and its version become bytes and back.

use std::fmt;

/// Turns a state and its version into bytes, and bytes back into a version and data.
///
/// Decoding is in two steps so that data of an older version can be handed to a migration
/// instead of being forced into the current type: [`decode`](Codec::decode) reads the
/// envelope (the version and the still untyped [`Data`](Codec::Data)), then
/// [`to_state`](Codec::to_state) turns data of the current version into `S`.
///
/// Two codecs ship: [`FnCodec`], from two functions, with a small text header for the
/// version; and `JsonCodec` (feature `serde`), Zustand's `{"state":..,"version":..}` layout.
///
/// # Examples
/// ```
/// use stateloom_store::{Codec, FnCodec};
///
/// let codec = FnCodec::new(
///     |n: &u32| n.to_string().into_bytes(),
///     |bytes: &[u8]| std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()).ok_or("not a number".to_string()),
/// );
/// let bytes = codec.encode(&42, 3).unwrap();
/// assert_eq!(bytes, b"v3\n42");
/// let (version, data) = codec.decode(&bytes).unwrap();
/// assert_eq!((version, codec.to_state(data)), (3, Ok(42)));
/// ```
pub trait Codec<S> {
    /// Decoded data whose version is known but which is not yet an `S`; what a migration
    /// receives.
    type Data;

    /// Encodes `state`, saved as `version`.
    ///
    /// # Errors
    /// A message if the state cannot be encoded.
    fn encode(&self, state: &S, version: u32) -> Result<Vec<u8>, String>;

    /// Reads the version and the data from `bytes`.
    ///
    /// # Errors
    /// A message if `bytes` are not in the codec's format.
    fn decode(&self, bytes: &[u8]) -> Result<(u32, Self::Data), String>;

    /// Turns data of the current version into a state.
    ///
    /// # Errors
    /// A message if the data does not describe an `S`.
    fn to_state(&self, data: Self::Data) -> Result<S, String>;
}

/// A codec from two functions, for use without `serde`: `encode(&S) -> Vec<u8>` and
/// `decode(&[u8]) -> Result<S, String>`.
///
/// The saved bytes are a header line `v<version>` followed by the encoded state. A migration
/// receives the encoded state's bytes (the [`Data`](Codec::Data) is `Vec<u8>`).
///
/// # Examples
/// See [`Codec`].
pub struct FnCodec<E, D> {
    encode: E,
    decode: D,
}

impl<E, D> FnCodec<E, D> {
    /// A codec from an encoding and a decoding function.
    ///
    /// # Examples
    /// See [`Codec`].
    pub fn new<S>(encode: E, decode: D) -> Self
    where
        E: Fn(&S) -> Vec<u8>,
        D: Fn(&[u8]) -> Result<S, String>,
    {
        Self { encode, decode }
    }
}

impl<S, E, D> Codec<S> for FnCodec<E, D>
where
    E: Fn(&S) -> Vec<u8>,
    D: Fn(&[u8]) -> Result<S, String>,
{
    type Data = Vec<u8>;

    fn encode(&self, state: &S, version: u32) -> Result<Vec<u8>, String> {
        let payload = (self.encode)(state);
        let mut bytes = format!("v{version}\n").into_bytes();
        bytes.extend_from_slice(&payload);
        Ok(bytes)
    }

    fn decode(&self, bytes: &[u8]) -> Result<(u32, Vec<u8>), String> {
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("missing the version header line")?;
        let version = std::str::from_utf8(&bytes[..newline])
            .ok()
            .and_then(|line| line.strip_prefix('v'))
            .and_then(|digits| digits.parse().ok())
            .ok_or("the header line is not `v<version>`")?;
        Ok((version, bytes[newline + 1..].to_vec()))
    }

    fn to_state(&self, data: Vec<u8>) -> Result<S, String> {
        (self.decode)(&data)
    }
}

impl<E, D> fmt::Debug for FnCodec<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnCodec(..)")
    }
}

#[cfg(feature = "serde")]
pub use self::json::JsonCodec;

#[cfg(feature = "serde")]
mod json {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::Codec;

    /// JSON in Zustand's layout, `{"state": .., "version": ..}`; a migration receives the
    /// `state` as a [`serde_json::Value`].
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Codec, JsonCodec};
    ///
    /// let bytes = Codec::<Vec<u32>>::encode(&JsonCodec, &vec![1, 2], 1).unwrap();
    /// assert_eq!(bytes, br#"{"state":[1,2],"version":1}"#);
    /// let (version, data) = Codec::<Vec<u32>>::decode(&JsonCodec, &bytes).unwrap();
    /// assert_eq!(version, 1);
    /// assert_eq!(Codec::<Vec<u32>>::to_state(&JsonCodec, data), Ok(vec![1, 2]));
    /// ```
    #[derive(Clone, Copy, Debug, Default)]
    pub struct JsonCodec;

    #[derive(Serialize)]
    struct Envelope<'a, S> {
        state: &'a S,
        version: u32,
    }

    impl<S: Serialize + DeserializeOwned> Codec<S> for JsonCodec {
        type Data = Value;

        fn encode(&self, state: &S, version: u32) -> Result<Vec<u8>, String> {
            serde_json::to_vec(&Envelope { state, version }).map_err(|e| e.to_string())
        }

        fn decode(&self, bytes: &[u8]) -> Result<(u32, Value), String> {
            let mut value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let version = value
                .get("version")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or("missing or invalid `version`")?;
            let state = value
                .get_mut("state")
                .map(Value::take)
                .ok_or("missing `state`")?;
            Ok((version, state))
        }

        fn to_state(&self, data: Value) -> Result<S, String> {
            serde_json::from_value(data).map_err(|e| e.to_string())
        }
    }
}
