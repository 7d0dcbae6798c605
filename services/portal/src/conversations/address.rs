//! How a message form names its recipients: `person:12`, `office`, `group:3` (the parents of a
//! group), `special:4` (the members of a special group) and `list:5` (the people a recipient
//! list names when the message is sent).

use std::fmt;

/// One recipient as the form names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    Person(i64),
    /// The school's office: every admin reads for it.
    Office,
    /// The parents of a group.
    Group(i64),
    /// The members of a special group.
    Special(i64),
    /// The people a recipient list names at the moment of sending.
    List(i64),
}

impl Address {
    /// Reads one address; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text == "office" {
            return Some(Self::Office);
        }
        let (kind, id) = text.split_once(':')?;
        let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
        match kind {
            "person" => Some(Self::Person(id)),
            "group" => Some(Self::Group(id)),
            "special" => Some(Self::Special(id)),
            "list" => Some(Self::List(id)),
            _ => None,
        }
    }

    /// Whether the people behind it stay out of sight of the other recipients.
    pub fn is_a_crowd(self) -> bool {
        matches!(self, Self::Group(_) | Self::Special(_) | Self::List(_))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Person(id) => write!(f, "person:{id}"),
            Self::Office => f.write_str("office"),
            Self::Group(id) => write!(f, "group:{id}"),
            Self::Special(id) => write!(f, "special:{id}"),
            Self::List(id) => write!(f, "list:{id}"),
        }
    }
}

/// Every address in `values` (a repeated form field, or one field with several separated by
/// commas or spaces), each once, in the order given; `Err` with the first that is not one.
pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Address>, String> {
    let mut addresses = Vec::new();
    for text in values
        .into_iter()
        .flat_map(|value| value.split([',', ' ', '\n', '\r', '\t']))
        .filter(|text| !text.is_empty())
    {
        let address = Address::parse(text).ok_or_else(|| text.to_owned())?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::{Address, parse_all};

    #[test]
    fn every_address_reads_back_as_written() {
        for address in [
            Address::Person(12),
            Address::Office,
            Address::Group(3),
            Address::Special(4),
            Address::List(5),
        ] {
            assert_eq!(Address::parse(&address.to_string()), Some(address));
        }
        for bad in [
            "",
            "person:",
            "person:0",
            "person:-1",
            "people:2",
            "office:1",
            "x",
        ] {
            assert_eq!(Address::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn several_come_once_each_in_order_and_a_bad_one_is_named() {
        assert_eq!(
            parse_all(["person:2, office", "person:2 group:7"]),
            Ok(vec![Address::Person(2), Address::Office, Address::Group(7)])
        );
        assert_eq!(parse_all(["person:2 nobody"]), Err("nobody".to_owned()));
    }
}
