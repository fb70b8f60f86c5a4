//! The words demo data is made of: people's names, places, products. Plain lists, so a
//! plan drawn from them depends only on the seed.

/// Given names, from the countries below.
pub(super) const GIVEN_NAMES: &[&str] = &[
    "Anna",
    "Lukas",
    "Sophie",
    "Jonas",
    "Emma",
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Manon",
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "George",
    "Olivia",
    "Liam",
    "Ava",
    "Noah",
    "Mia",
    "Daan",
    "Sanne",
    "Lotte",
    "Sem",
    "Lucía",
    "Mateo",
    "Martina",
    "Pablo",
    "Giulia",
    "Leonardo",
    "Francesca",
    "Alessandro",
    "Elsa",
    "Erik",
    "Astrid",
    "Nils",
    "Yuki",
    "Haruto",
    "Sakura",
    "Ren",
    "Aiko",
    "Kenji",
    "Zoé",
    "Félix",
    "Marta",
    "Tomás",
    "Ingrid",
    "Maja",
];

/// Family names, from the countries below.
pub(super) const FAMILY_NAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Martin",
    "Bernard",
    "Dubois",
    "Laurent",
    "Moreau",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Johnson",
    "Miller",
    "Davis",
    "Garcia",
    "de Jong",
    "Jansen",
    "de Vries",
    "van Dijk",
    "García",
    "Fernández",
    "López",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Tremblay",
    "Roy",
    "Gagnon",
    "Silva",
    "Santos",
    "Nowak",
    "Kowalski",
    "Novák",
    "Horvat",
    "O'Brien",
];

/// Mail domains customers use.
pub(super) const MAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example",
    "post.example",
];

/// Street names.
pub(super) const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Rue de la Paix",
    "Avenue Victor Hugo",
    "High Street",
    "Station Road",
    "Main Street",
    "Oak Avenue",
    "Kerkstraat",
    "Dorpsstraat",
    "Calle Mayor",
    "Gran Vía",
    "Via Roma",
    "Corso Italia",
    "Storgatan",
    "Drottninggatan",
    "Sakura-dori",
    "Rue Principale",
    "King Street",
    "Maple Drive",
];

/// Address labels.
pub(super) const ADDRESS_LABELS: &[&str] = &["home", "office", "parents", "holiday home"];

/// A country: its code, some of its cities, and how its postal codes look (`9`: a digit,
/// `A`: a letter, anything else as written).
pub(super) struct Country {
    pub(super) code: &'static str,
    pub(super) cities: &'static [&'static str],
    pub(super) postal_code: &'static str,
}

pub(super) const COUNTRIES: &[Country] = &[
    Country {
        code: "DE",
        cities: &["Berlin", "Hamburg", "München", "Köln", "Leipzig"],
        postal_code: "99999",
    },
    Country {
        code: "FR",
        cities: &["Paris", "Lyon", "Marseille", "Toulouse", "Nantes"],
        postal_code: "99999",
    },
    Country {
        code: "GB",
        cities: &["London", "Manchester", "Leeds", "Bristol", "Glasgow"],
        postal_code: "AA9 9AA",
    },
    Country {
        code: "US",
        cities: &["New York", "Chicago", "Austin", "Seattle", "Denver"],
        postal_code: "99999",
    },
    Country {
        code: "NL",
        cities: &["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"],
        postal_code: "9999 AA",
    },
    Country {
        code: "ES",
        cities: &["Madrid", "Barcelona", "Valencia", "Sevilla"],
        postal_code: "99999",
    },
    Country {
        code: "IT",
        cities: &["Roma", "Milano", "Torino", "Napoli", "Bologna"],
        postal_code: "99999",
    },
    Country {
        code: "SE",
        cities: &["Stockholm", "Göteborg", "Malmö", "Uppsala"],
        postal_code: "999 99",
    },
    Country {
        code: "JP",
        cities: &["Tokyo", "Osaka", "Kyoto", "Sapporo"],
        postal_code: "999-9999",
    },
    Country {
        code: "CA",
        cities: &["Toronto", "Montréal", "Vancouver", "Calgary"],
        postal_code: "A9A 9A9",
    },
];

/// Product kinds: a name, a sku stem, and a price range in cents.
pub(super) const PRODUCT_KINDS: &[(&str, &str, i64, i64)] = &[
    ("Socks", "SOCK", 490, 1_990),
    ("T-Shirt", "TEE", 1_290, 3_990),
    ("Hoodie", "HOOD", 3_990, 8_990),
    ("Rain Jacket", "JACK", 7_990, 24_990),
    ("Sneakers", "SNKR", 5_990, 17_990),
    ("Backpack", "BPCK", 3_490, 12_990),
    ("Water Bottle", "BOTL", 990, 3_490),
    ("Coffee Mug", "MUG", 790, 2_490),
    ("Desk Lamp", "LAMP", 2_490, 9_990),
    ("Headphones", "HEAD", 4_990, 34_990),
    ("Notebook", "NOTE", 390, 1_490),
    ("Fountain Pen", "PEN", 1_990, 14_990),
    ("Yoga Mat", "YOGA", 1_990, 6_990),
    ("Chef's Knife", "KNIF", 3_990, 19_990),
    ("Tea Sampler", "TEA", 990, 3_990),
];

/// What a product kind is made of or like.
pub(super) const MATERIALS: &[&str] = &[
    "Merino",
    "Organic Cotton",
    "Recycled",
    "Classic",
    "Alpine",
    "Urban",
    "Bamboo",
    "Linen",
    "Steel",
    "Oak",
    "Ceramic",
    "Trail",
    "Everyday",
    "Studio",
];

/// Colours.
pub(super) const COLOURS: &[&str] = &[
    "Black",
    "White",
    "Navy",
    "Forest Green",
    "Sand",
    "Charcoal",
    "Rust",
    "Sky Blue",
];

/// Carriers shipments go with, and the prefixes of their tracking numbers.
pub(super) const CARRIERS: &[(&str, &str)] = &[
    ("DHL", "JJD"),
    ("UPS", "1Z"),
    ("DPD", "DPD"),
    ("PostNL", "3S"),
    ("La Poste", "LP"),
];

/// Payment methods.
pub(super) const PAYMENT_METHODS: &[&str] = &["card", "invoice", "paypal", "bank transfer"];

/// Why customers cancel.
pub(super) const CANCEL_REASONS: &[&str] = &[
    "ordered by mistake",
    "found it cheaper elsewhere",
    "delivery takes too long",
    "changed my mind",
    "duplicate order",
];
