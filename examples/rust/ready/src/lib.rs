//! Small, tested helpers.

/// The larger of two numbers.
pub fn max(a: i64, b: i64) -> i64 {
    if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_larger() {
        assert_eq!(max(1, 2), 2);
        assert_eq!(max(5, 2), 5);
    }

    #[test]
    #[ignore]
    fn slow_one() {}
}
