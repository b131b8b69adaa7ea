//! Amazon Resource Names, read in one place: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`,
//! where the resource part may itself hold colons (`function:orders:7`, `alarm:name`).

/// An ARN's parts; empty parts (S3 has no region, IAM none either) stay empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `text`, or None when it is not an ARN.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty()).then_some(arn)
    }

    /// The account, when the ARN names one.
    pub fn account_of(text: &'a str) -> Option<&'a str> {
        Arn::parse(text)
            .map(|arn| arn.account)
            .filter(|a| !a.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::Arn;

    #[test]
    fn reads_every_part_and_keeps_colons_in_the_resource() {
        let arn = Arn::parse("arn:aws:lambda:eu-west-1:123456789012:function:orders:7").unwrap();
        assert_eq!(
            (arn.partition, arn.service, arn.region, arn.account),
            ("aws", "lambda", "eu-west-1", "123456789012")
        );
        assert_eq!(arn.resource, "function:orders:7");
        assert_eq!(Arn::account_of("arn:aws:sns:us-east-1:1:topic"), Some("1"));
        assert_eq!(Arn::account_of("arn:aws:s3:::bucket"), None);
        assert_eq!(Arn::parse("orders"), None);
        assert_eq!(Arn::parse("arn:aws:lambda"), None);
    }
}
