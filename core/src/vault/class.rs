//! Data classes: how sensitive an item is.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Rukapay's data classification. Each class has its own data-encryption key, and the class is
/// bound into every item's ciphertext, so an item cannot be moved to a weaker class unnoticed.
/// It is also where unlocking policy attaches (Confidential and Restricted items can require
/// biometric unlock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataClass {
    /// Could be published (cached public content). Encrypted all the same.
    Public,
    /// Internal to Rukapay and the customer (preferences, non-sensitive settings).
    Internal,
    /// Personal or financial data (transaction history, contacts).
    Confidential,
    /// Credentials and keys (tokens, PIN-derived material, signing keys).
    Restricted,
}

impl DataClass {
    /// Every class, from least to most sensitive.
    pub const ALL: [Self; 4] = [
        Self::Public,
        Self::Internal,
        Self::Confidential,
        Self::Restricted,
    ];

    /// The class's code on disk (docs/FORMAT.md).
    pub fn code(self) -> u8 {
        match self {
            Self::Public => 0,
            Self::Internal => 1,
            Self::Confidential => 2,
            Self::Restricted => 3,
        }
    }

    /// The class of an on-disk code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|class| class.code() == code)
    }

    /// The class's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Restricted => "restricted",
        }
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataClass {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|class| class.as_str() == text)
            .ok_or_else(|| {
                Error::invalid_input("a data class is public, internal, confidential or restricted")
            })
    }
}
