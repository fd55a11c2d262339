//! PKCS#12 files made by OpenSSL 3.0 from the test PKI of
//! `scripts/make-fixtures.sh` (the p256 leaf, serial 0x1234ABCD, its
//! throw-away key, and the root CA), password "unit":
//!   openssl pkcs12 -export -inkey p256.pkcs8.pem -in p256.pem -certfile ca.pem -passout pass:unit
//!   (the same with -legacy)
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use alloc::vec::Vec;

use base64ct::{Base64, Encoding};

use super::*;
use crate::key::encrypted::EncryptedKeyError;
use crate::signer::Signer;
use crate::x509::{Certificate, KeyType};

/// PBES2 (PBKDF2-SHA256, AES-256-CBC) bags, HMAC-SHA256 MAC, 2048 iterations.
const MODERN: &str = "\
MIIF7AIBAzCCBaIGCSqGSIb3DQEHAaCCBZMEggWPMIIFizCCBEIGCSqGSIb3DQEHBqCCBDMwggQv
AgEAMIIEKAYJKoZIhvcNAQcBMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjHQ/Jm2Cbk
bwICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEPNSbgGLZvpBipYuAXfZKOGAggPAB0uV
DFXd0iJSYLvQ+qa8tnYwwT66BA+cFN1/cw4wUpPbjCaQcfAIHONVnKGtn0kyIyGdSlo4Q7MHppG3
IF0i/0k/A7RJlnDTuFy2HITDges8KZSGxFJbKxamOuGKkVFgY/243tFUHTMI+K8MifgNijIRVSTC
wsJXoS3owO2nt5PYmsELqbvDmd5jmMO/2Rv1PdOiIOkATypFfxCpPWLzreU1PVOKNuNYBMQcrbS+
lC2KzSFfdtt+CSfFDyvANiRPvZgxcuEjXqtVVtWc1jJckmtXAiraF+QilMwojfNMcQ3EDckSiNU8
f8hiaC5b0YV1GJ9p/VKmjDur2ukjcKzCg5H9HIFQ9K1XO0JUmV7EvviS0DLkR/wbXd81Kt6riUst
6mN31IZKgeyjsr5Xs97eGzy77VQhmWhUYcxid9P+13msh4YzIkBqNvGwMlSnaeVtRDK9eCvYyq+c
Go38hyfLgm7YmB8MDwRmeWOARpFPcz0xM9eOMZrzWeatcn/b9VHHbDvuzy/vuKh5DHUBS9DQVui9
cvRXAX24Cv8juaGGw/0ax0IU6WolE6qOnGqw7ZhzLuPwVq6CnvtM9+WND0h8XIaJqmZ5hyYb7n19
r3COn3pEXeKqNNx0EhoBv1NmAH++8yaYjiIfmDTBmwMzovnB7i0tNWlgE4kXU9Oe76E8lRgMnvhA
rA0XIUtm/V9SUi3vl3+IEchoCrnNbnD+OTxM4Nnz1VwQ2oQ+tb1+cGYSX0VWAaW6se+mq4wNRmCQ
N4NNIfI17F610asQhYjWkjOdNhaki/CYc0rnGDHlZFS4v3FOqK/O8qOune2IJzliKTvDUJYvx1rN
HH64laDUns0b3ycqXchQNWrC8mgM78fEE6WKl7uwfGDlW3snyB33dHxs5+EdzH7LEO6xtLkLOyd/
lAvGILH7ochhUpqiHZer+ihK61Uyae89TNoR80lY5v4vSJIl7DMOoRmlUYBcSecpqE4JvwCFQYnO
PNssTnRWeF5NU02Kxzr3iRlBlhzEzmGXXZo8Sf0qSmUrztlpdtZypkJi58YW0UkMNu7Y6/u8mESi
ivr6V4sl4eA4DVNDSrbUV+FLw968RLxsIu+SNHAfiEhIvv/iUu+xOegRf0Sm5q/TmKRLR9s1J6ma
tP05KKjMJa/oidTDTAfHeuAzqcqePSQluDCN9wvE65UErx8IVH3oa/W78I36i77CFJH1I35YA4pw
a7Hfgs5t07Glj8FIOUxjxG7yVTNyPmkxRf7DsBMEHIcrMjeYDL5LgTBn1h8IMIIBQQYJKoZIhvcN
AQcBoIIBMgSCAS4wggEqMIIBJgYLKoZIhvcNAQwKAQKgge8wgewwVwYJKoZIhvcNAQUNMEowKQYJ
KoZIhvcNAQUMMBwECPWqN9MDIBHYAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQMyeH
fzi9kjLuniGDHwKD2ASBkKqnF8bPW1YYWuF3f0ZWpPtOG0ChxvUHE99/iuZvozmjrbZ8S2A2R/Hn
MDLbi664Q9BMUjD2n/mMWJrlL/+fHO+YKY/paJmI+nD5p5PNSrcCfHwG1e3hZGRtwdmJUS/T9KsP
Qn5Y8TIZuuUeKr/I9AQbPCtKGg+NNlM/ri0ZrHmf4aNF0bkV+LmatYEbcYBHZDElMCMGCSqGSIb3
DQEJFTEWBBSGL0RCun9LXpuFYuGOqvnGtS3fMTBBMDEwDQYJYIZIAWUDBAIBBQAEIP6m3Xn9xw4s
Xx7O9sINRknZVtWA3G8wmiXmdploWw6lBAhgh97fSf8UuAICCAA=";

/// pbeWithSHAAnd3-KeyTripleDES-CBC key, pbeWithSHAAnd40BitRC2-CBC certificates, SHA-1 MAC.
const LEGACY: &str = "\
MIIFYgIBAzCCBSgGCSqGSIb3DQEHAaCCBRkEggUVMIIFETCCBAcGCSqGSIb3DQEHBqCCA/gwggP0
AgEAMIID7QYJKoZIhvcNAQcBMBwGCiqGSIb3DQEMAQYwDgQIuLVnYFs9vFICAggAgIIDwPTbrFdB
pI6sb5Nrg5N0jGxasPfVeXRnCKAaALD3D/bqDr7Vt0vApHHfbvQbM4BF1UoA97/b4rwfGXaVQ/2k
k+miwjgDz6QyGLz6VWZOrkstbyfRRIf3ghSruaoSAdsKzVTe+4Ve6K5sx6iJe5803cD9FGmkAWZ+
Q0+bNvf5RqWamWimFgaYi3Qaw/nCaArQXHKppaVgrFtSRLLJteVfoWKKG/lReBzQdI8r+umnW1rU
7GQFKNum5UCHCvKbeacgu51d1gu5TPct3sbGdXZybR1ehqzo+hsQAcwiwrqTC+Jj70keegFYq02u
PvPzS9Ofy5DkINvXd0VoPFjRnSRRBqTWmwABz0uDa/5pXueUNT6HYAceMPsv7LK2GD+6W20OFe1n
TlTa8revyBNobXDKZUA+yCptPSzh1Rm/Ty7QT/TDabYy0FWiRkS3wM5pNZ8XRAhMc473ZztlMVvk
HufoM3lXNnq3u6NMZjPO/4K10i4jUXxiXTo5cVbABplhaXMJ036hpaeUL3ZFed+O2OKFMjnH7iek
YD6unRxl0RkzIzG4I0sLbosp9bSGoFHaSKqBy3BGMwPN/dZifwEIj4bMGBlWtvpXqSHRe+1kkgKF
kBAmtzrT95H50ZYRxERaXn7wjQDT77voMOEF5IQPYUXKRDL43VnLUFhgeu/6oyDxs8EV02ewNqw8
cOXSXZNHIMiCE+SHT29z8e2xy26+pC3vYy7wS5clF4vGFiwEnzBMeSkotNeLOUjjcpQQQ9dNZp+z
dG35Y3AFcGN+t12y1iFF12H+Jp9EB25osKTijScNwNfssB0nxCKnZP3AE3rY6G879Wwnz8h4Hi69
BiqxVxwRLSsqQr1hydbD8toT2+Sof6kwnTCQ31UtRwoFPK8yPFXE8N+87J4gc9SDu15yEhR7jr/d
xOBGq3Q2lcQhGNyTGQDTH4Tk87xSK6KNd9/S9tVVaU6MV5QBK0Kh63LplCuCp5C+tNeISChJe1QO
vVcPeBC91xfEhxvHaKpEjqJsyaxa5oqyaKqMwd2MqPqFE9ODrTy7hDMZOO0wUP/n0+AH0XNLMlIY
6qXeQ45Opd57zSeA+v5NlpLJvKyTpVLNX+Jg5HMbWtL85aCS/NGXvp0RNZU5k8DLDP+882C4ZRc7
b28mNIx/AQbA695h9YTrpc5wNC6OWOVTZDtzOkS9Jp8RnZ9HG7qVBq+Tmt9KqV44bovE54lqnHs0
QHCiA6vVsJGzzjmFQm5Hi99BE5ag9ZcpCG0aocCyGLHy41IkbYhpPrloxDCCAQIGCSqGSIb3DQEH
AaCB9ASB8TCB7jCB6wYLKoZIhvcNAQwKAQKggbQwgbEwHAYKKoZIhvcNAQwBAzAOBAjXL60oAx6v
JgICCAAEgZAeiyr3qdCfOqWjrYBeUwcgIpAfpDxr62V7nOWIIrJcslqhqHw0MwB32z6i3+1TNult
nnGahZNw38pPlcXkEuPUgEMN+SHloLVYToYBJf4tX7/P3UTAeeKHES+aQ6s+MYzZYJ3ZKT7ZwCq4
USK7DWYtKhvkuG6gxumWPoujpi7ntV8gWxTEJyuA/Qg4ACb2O0cxJTAjBgkqhkiG9w0BCRUxFgQU
hi9EQrp/S16bhWLhjqr5xrUt3zEwMTAhMAkGBSsOAwIaBQAEFOJkSdmoIAlJfFNxIIMB9AnLjacq
BAjam0sDxXC3ggICCAA=";

fn der(b64: &str) -> Vec<u8> {
    let compact: alloc::string::String = b64.split_whitespace().collect();
    Base64::decode_vec(&compact).unwrap()
}

#[test]
fn modern_and_legacy_give_leaf_key_and_chain() {
    for b64 in [MODERN, LEGACY] {
        let id = Pkcs12Identity::from_der(&der(b64), "unit", &KdfLimits::DEFAULT).unwrap();
        let leaf = Certificate::from_der(&id.leaf).unwrap();
        assert_eq!(leaf.serial_bytes(), &[0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(id.key.key_type(), KeyType::P256);
        assert_eq!(id.chain.len(), 1);
        let root = Certificate::from_der(&id.chain[0]).unwrap();
        assert!(leaf.is_issued_by(&root));
        assert!(crate::signer::check_key_matches(&id.key, &leaf).is_ok());
    }
}

#[test]
fn wrong_password_and_limits() {
    for b64 in [MODERN, LEGACY] {
        for pw in ["", "Unit", "unit "] {
            assert_eq!(
                parse(&der(b64), pw, &KdfLimits::DEFAULT).unwrap_err(),
                Pkcs12Error::WrongPassword,
                "{pw:?}"
            );
        }
        let tight = KdfLimits {
            max_iterations: 2047,
            ..KdfLimits::DEFAULT
        };
        assert_eq!(
            parse(&der(b64), "unit", &tight).unwrap_err(),
            Pkcs12Error::Encryption(EncryptedKeyError::IterationsTooHigh {
                iterations: 2048,
                max: 2047
            })
        );
    }
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let good = der(MODERN);
    for cut in [0, 1, 10, good.len() / 2, good.len() - 1] {
        assert!(parse(&good[..cut], "unit", &KdfLimits::DEFAULT).is_err());
    }
    // Every single-byte change is caught (MAC, DER or padding), never a panic.
    for i in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0x80;
        assert!(
            Pkcs12Identity::from_der(&bad, "unit", &KdfLimits::DEFAULT).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn selection_needs_key_and_certificate() {
    let mut contents = parse(&der(MODERN), "unit", &KdfLimits::DEFAULT).unwrap();
    let keys = core::mem::take(&mut contents.keys);
    assert_eq!(
        Pkcs12Identity::from_contents(contents).unwrap_err(),
        Pkcs12Error::NoKey
    );
    let contents = Pkcs12Contents {
        keys,
        certificates: Vec::new(),
    };
    assert_eq!(
        Pkcs12Identity::from_contents(contents).unwrap_err(),
        Pkcs12Error::NoCertificate
    );
    // The root alone (it issues the leaf, which is gone) does not match the key.
    let mut contents = parse(&der(MODERN), "unit", &KdfLimits::DEFAULT).unwrap();
    contents
        .certificates
        .retain(|c| Certificate::from_der(c).unwrap().serial_bytes() != [0x12, 0x34, 0xab, 0xcd]);
    assert_eq!(
        Pkcs12Identity::from_contents(contents).unwrap_err(),
        Pkcs12Error::NoMatchingCertificate
    );
}
