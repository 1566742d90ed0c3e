//! Carts and their arithmetic.

use serde::{Deserialize, Serialize};

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Stock-keeping unit.
    pub sku: String,
    /// Unit price in cents.
    pub price_cents: u64,
    /// Quantity.
    pub qty: u64,
}

/// A shopping cart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// The cart's lines.
    pub items: Vec<Item>,
}

impl Cart {
    /// Total price in cents.
    pub fn total_cents(&self) -> u64 {
        self.items.iter().map(|i| i.price_cents * i.qty).sum()
    }

    /// Number of units in the cart.
    pub fn unit_count(&self) -> u64 {
        self.items.iter().map(|i| i.qty).sum()
    }
}

/// Average price per unit, in cents; `None` when the cart holds no units.
pub fn average_price_cents(cart: &Cart) -> Option<u64> {
    let units = cart.unit_count();
    Some(cart.total_cents() / units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart() -> Cart {
        Cart {
            items: vec![
                Item {
                    sku: "tea".into(),
                    price_cents: 450,
                    qty: 2,
                },
                Item {
                    sku: "mug".into(),
                    price_cents: 1200,
                    qty: 1,
                },
            ],
        }
    }

    #[test]
    fn totals_add_up() {
        assert_eq!(cart().total_cents(), 2100);
        assert_eq!(cart().unit_count(), 3);
    }

    #[test]
    fn average_is_per_unit() {
        assert_eq!(average_price_cents(&cart()), Some(700));
    }
}
