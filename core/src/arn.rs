//! ARNs of the three resources a session names, checked before anything is signed.

use core::fmt;

/// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: &'a str,
    /// `rolesanywhere`, `iam`, ...
    pub service: &'a str,
    /// The region; empty for global services (IAM).
    pub region: &'a str,
    /// The 12-digit account.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

/// Why a string is not a usable ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArnError {
    /// It does not start with `arn:` or has fewer than six parts.
    Invalid,
    /// It holds characters that cannot go into a request (controls, spaces).
    BadCharacter,
    /// The service is not the one expected.
    WrongService(&'static str),
    /// The resource is not of the expected type.
    WrongResource(&'static str),
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArnError::Invalid => {
                f.write_str("not an ARN (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")
            }
            ArnError::BadCharacter => f.write_str("ARN contains whitespace or control characters"),
            ArnError::WrongService(s) => write!(f, "ARN is not for the {s} service"),
            ArnError::WrongResource(r) => write!(f, "ARN resource is not a {r}"),
        }
    }
}

impl core::error::Error for ArnError {}

impl<'a> Arn<'a> {
    /// Splits an ARN into its parts.
    pub fn parse(s: &'a str) -> Result<Self, ArnError> {
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(ArnError::BadCharacter);
        }
        let mut parts = s.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(ArnError::Invalid);
        };
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(ArnError::Invalid);
        }
        Ok(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// A Roles Anywhere ARN whose resource starts with `kind/` (`trust-anchor`, `profile`).
    pub fn parse_rolesanywhere(s: &'a str, kind: &'static str) -> Result<Self, ArnError> {
        let arn = Arn::parse(s)?;
        if arn.service != "rolesanywhere" {
            return Err(ArnError::WrongService("rolesanywhere"));
        }
        if arn.region.is_empty() {
            return Err(ArnError::Invalid);
        }
        let ok = arn
            .resource
            .strip_prefix(kind)
            .is_some_and(|r| r.starts_with('/') && r.len() > 1);
        if !ok {
            return Err(ArnError::WrongResource(kind));
        }
        Ok(arn)
    }

    /// An IAM role ARN (`arn:aws:iam::ACCOUNT:role/NAME`).
    pub fn parse_role(s: &'a str) -> Result<Self, ArnError> {
        let arn = Arn::parse(s)?;
        if arn.service != "iam" {
            return Err(ArnError::WrongService("iam"));
        }
        if !arn.resource.starts_with("role/") || arn.resource.len() <= 5 {
            return Err(ArnError::WrongResource("role"));
        }
        Ok(arn)
    }

    /// The role name as IMDS reports it: the last `/` segment of the resource.
    pub fn role_name(&self) -> &'a str {
        self.resource.rsplit('/').next().unwrap_or(self.resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        let ta = Arn::parse_rolesanywhere(
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666",
            "trust-anchor",
        )
        .unwrap();
        assert_eq!(
            (ta.partition, ta.region, ta.account),
            ("aws", "us-east-1", "123456789012")
        );
        let role = Arn::parse_role("arn:aws:iam::123456789012:role/path/to/Gateway").unwrap();
        assert_eq!(role.role_name(), "Gateway");
        assert_eq!(
            Arn::parse_rolesanywhere("arn:aws-cn:rolesanywhere:cn-north-1:1:profile/p", "profile")
                .unwrap()
                .partition,
            "aws-cn"
        );
    }

    #[test]
    fn rejects_what_is_not_an_arn() {
        assert_eq!(Arn::parse("").unwrap_err(), ArnError::Invalid);
        assert_eq!(Arn::parse("arn:aws:iam").unwrap_err(), ArnError::Invalid);
        assert_eq!(
            Arn::parse("urn:aws:iam::1:role/x").unwrap_err(),
            ArnError::Invalid
        );
        assert_eq!(
            Arn::parse("arn:aws:iam::1:role/x y").unwrap_err(),
            ArnError::BadCharacter
        );
        assert_eq!(
            Arn::parse_rolesanywhere(
                "arn:aws:rolesanywhere:us-east-1:1:profile/p",
                "trust-anchor"
            )
            .unwrap_err(),
            ArnError::WrongResource("trust-anchor")
        );
        assert_eq!(
            Arn::parse_rolesanywhere("arn:aws:iam::1:role/p", "profile").unwrap_err(),
            ArnError::WrongService("rolesanywhere")
        );
        assert_eq!(
            Arn::parse_role("arn:aws:iam::1:user/x").unwrap_err(),
            ArnError::WrongResource("role")
        );
    }
}
