//! Files attached to records: how their size reads, the same in the attachment list and in the
//! history.

/// A file's size for people: bytes under a kilobyte, then KB or MB (of 1,024), with one decimal
/// below ten: `512 bytes`, `1.5 KB`, `12 KB`, `3.2 MB`.
pub fn size_label(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    let (value, unit) = if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    } else if b < K * K {
        (b / K, "KB")
    } else {
        (b / (K * K), "MB")
    };
    if value < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::size_label;

    #[test]
    fn sizes_read_the_same_everywhere() {
        assert_eq!(size_label(1), "1 byte");
        assert_eq!(size_label(512), "512 bytes");
        assert_eq!(size_label(1536), "1.5 KB");
        assert_eq!(size_label(12_345), "12 KB");
        assert_eq!(size_label(3_355_443), "3.2 MB");
        assert_eq!(size_label(10 * 1024 * 1024), "10 MB");
    }
}
