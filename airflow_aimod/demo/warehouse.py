"""The embedded demo warehouse: a synthetic, deterministic retail database in SQLite.

``build_warehouse`` writes customers, products, orders and order items (two years of
orders with weekly and yearly seasonality) to a temporary file and renames it into
place, so readers never see a half-built database. Every person, e-mail address and
phone number is invented; e-mail domains are reserved example domains.
"""

from __future__ import annotations

import bisect
import os
import random
import sqlite3
import tempfile
import unicodedata
from datetime import date, timedelta
from pathlib import Path

DEMO_PII_TABLES = ("customers",)
DEMO_PII_COLUMNS = ("customers.email", "customers.phone", "customers.full_name")

FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2024, 12, 31)

# country, weight, phone prefix, cities
_COUNTRIES = (
    ("United States", 25, "1", ("New York", "Los Angeles", "Chicago", "Houston", "Seattle", "Boston", "Austin")),
    ("Germany", 14, "49", ("Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt", "Stuttgart")),
    ("United Kingdom", 12, "44", ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol")),
    ("France", 10, "33", ("Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Bordeaux")),
    ("Canada", 8, "1", ("Toronto", "Vancouver", "Montreal", "Calgary", "Ottawa")),
    ("Spain", 7, "34", ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao")),
    ("Italy", 7, "39", ("Rome", "Milan", "Naples", "Turin", "Florence")),
    ("Netherlands", 6, "31", ("Amsterdam", "Rotterdam", "Utrecht", "The Hague", "Eindhoven")),
    ("Japan", 6, "81", ("Tokyo", "Osaka", "Yokohama", "Nagoya", "Sapporo")),
    ("Brazil", 5, "55", ("São Paulo", "Rio de Janeiro", "Brasília", "Salvador", "Curitiba")),
)
_SEGMENTS = (("consumer", 70), ("small_business", 22), ("enterprise", 8))
_FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Felix", "Grace", "Hiro", "Ines", "Jonas", "Kate", "Luca", "Maria",
    "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Will", "Yuki", "Zoe", "Amir",
    "Bianca", "Chloé", "Diego", "Emma", "Finn", "Giulia", "Hannah", "Ivan", "Julia", "Kenji", "Lena", "Marco",
    "Nina", "Oscar", "Priya", "Rafael", "Sofia", "Tom", "Lucía", "Max", "Aiko", "Jamal",
)
_LAST_NAMES = (
    "Smith", "Müller", "Martin", "Rossi", "García", "Jansen", "Tanaka", "Silva", "Brown", "Schmidt", "Dubois",
    "Bianchi", "López", "de Vries", "Sato", "Santos", "Wilson", "Fischer", "Bernard", "Romano", "Fernández",
    "Bakker", "Suzuki", "Oliveira", "Taylor", "Weber", "Moreau", "Ricci", "Martínez", "Visser", "Watanabe",
    "Costa", "Johnson", "Wagner", "Laurent", "Greco", "Sánchez", "Meijer", "Ito", "Pereira", "Clark", "Becker",
)
_DOMAINS = ("example.com", "example.net", "example.org")
# category: (min price, max price, adjectives, nouns)
_CATEGORIES = {
    "electronics": (19, 1400, ("Wireless", "Smart", "Portable", "Ultra", "Compact", "Pro"),
                    ("Headphones", "Speaker", "Monitor", "Keyboard", "Webcam", "Tablet", "Charger", "Router")),
    "books": (6, 60, ("Illustrated", "Complete", "Pocket", "Collected", "Modern", "Beginner's"),
              ("Cookbook", "Atlas", "Novel", "Guide to Python", "History of Rome", "Poetry Collection", "Field Guide")),
    "home": (8, 400, ("Ceramic", "Linen", "Oak", "Minimalist", "Cozy", "Stainless"),
             ("Lamp", "Throw Blanket", "Vase", "Cutting Board", "Bookshelf", "Mug Set", "Pillow")),
    "garden": (5, 350, ("Heavy-Duty", "Solar", "Cedar", "Foldable", "Organic", "Galvanized"),
               ("Hose", "Planter", "Shears", "Lantern", "Seed Kit", "Wheelbarrow", "Bird Feeder")),
    "toys": (5, 150, ("Wooden", "Plush", "Magnetic", "Classic", "Glow", "Remote-Control"),
             ("Puzzle", "Train Set", "Teddy Bear", "Building Blocks", "Race Car", "Board Game", "Kite")),
    "sports": (7, 600, ("Lightweight", "Pro", "Adjustable", "Waterproof", "Carbon", "Training"),
               ("Yoga Mat", "Running Shoes", "Dumbbells", "Tennis Racket", "Bike Helmet", "Water Bottle", "Backpack")),
    "beauty": (4, 120, ("Hydrating", "Natural", "Gentle", "Vitamin C", "Matte", "Overnight"),
               ("Face Cream", "Shampoo", "Lip Balm", "Serum", "Sunscreen", "Body Lotion", "Hair Oil")),
    "grocery": (1, 40, ("Organic", "Roasted", "Extra Virgin", "Dark", "Whole Grain", "Spicy"),
                ("Coffee Beans", "Olive Oil", "Chocolate", "Pasta", "Green Tea", "Honey", "Granola")),
}
_PRODUCTS = 150
_MONTH_FACTOR = (0.8, 0.78, 0.92, 0.95, 1.0, 0.97, 0.93, 0.95, 1.0, 1.05, 1.45, 1.7)
_WEEKDAY_FACTOR = (0.9, 0.88, 0.92, 0.95, 1.05, 1.25, 1.15)

_DDL = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, phone TEXT,
    country TEXT NOT NULL, city TEXT NOT NULL, segment TEXT NOT NULL, signup_date DATE NOT NULL);
CREATE TABLE products (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, unit_price NUMERIC(10,2) NOT NULL,
    active INTEGER NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), order_date DATE NOT NULL,
    status TEXT NOT NULL, channel TEXT NOT NULL, total_amount NUMERIC(12,2) NOT NULL);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
    unit_price NUMERIC(10,2) NOT NULL);
"""
_INDEXES = """
CREATE INDEX ix_orders_customer_id ON orders(customer_id);
CREATE INDEX ix_orders_order_date ON orders(order_date);
CREATE INDEX ix_order_items_order_id ON order_items(order_id);
CREATE INDEX ix_order_items_product_id ON order_items(product_id);
"""


def build_warehouse(path: str | Path, *, seed: int = 7, scale: float = 1.0) -> Path:
    """Create (or atomically replace) the demo warehouse at ``path``; same seed, same data."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        _write(Path(tmp), random.Random(seed), scale)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _write(path: Path, rng: random.Random, scale: float) -> None:
    customers = _customers(rng, max(20, round(2000 * scale)))
    products = _products(rng)
    orders, items = _orders(rng, customers, products, max(50, round(20000 * scale)))
    con = sqlite3.connect(path)
    try:
        con.executescript("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;" + _DDL)
        with con:
            con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", customers)
            con.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", products)
            con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders)
            con.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?)", items)
        con.executescript(_INDEXES + "ANALYZE;")
    finally:
        con.close()


def _ascii(text: str) -> str:
    """Lower-case ASCII form of a name, for e-mail addresses."""
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in flat.lower() if ch.isalnum())


def _random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _signup_day(rng: random.Random) -> date:
    """Most customers signed up before the order history starts; the rest during it."""
    if rng.random() < 0.6:
        return _random_day(rng, date(2020, 1, 1), FIRST_DAY - timedelta(days=1))
    return _random_day(rng, FIRST_DAY, LAST_DAY - timedelta(days=14))


def _customers(rng: random.Random, count: int) -> list[tuple]:
    """Customer rows, ids in sign-up order."""
    signups = sorted(_signup_day(rng) for _ in range(count))
    countries = rng.choices(_COUNTRIES, weights=[c[1] for c in _COUNTRIES], k=count)
    segments = rng.choices([s for s, _ in _SEGMENTS], weights=[w for _, w in _SEGMENTS], k=count)
    rows = []
    for cid, (signup, country, segment) in enumerate(zip(signups, countries, segments), start=1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        email = f"{_ascii(first)}.{_ascii(last)}{cid}@{rng.choice(_DOMAINS)}"
        phone = None if rng.random() < 0.15 else f"+{country[2]} {rng.randint(20, 999)} {rng.randint(1000000, 9999999)}"
        rows.append((cid, f"{first} {last}", email, phone, country[0], rng.choice(country[3]), segment,
                     signup.isoformat()))
    return rows


def _price(rng: random.Random, low: float, high: float) -> float:
    """A log-uniform shelf price ending in .99."""
    value = low * (high / low) ** rng.random()
    return max(1, round(value)) - 0.01


def _products(rng: random.Random) -> list[tuple]:
    """Product rows: every category gets a near-equal share of distinct names."""
    rows: list[tuple] = []
    names = list(_CATEGORIES)
    for index, category in enumerate(names):
        low, high, adjectives, nouns = _CATEGORIES[category]
        share = _PRODUCTS // len(names) + (index < _PRODUCTS % len(names))
        combos = rng.sample([f"{a} {n}" for a in adjectives for n in nouns], share)
        for name in combos:
            rows.append((len(rows) + 1, name, category, _price(rng, low, high), int(rng.random() < 0.92)))
    return rows


def _day_weights() -> tuple[list[date], list[float]]:
    """Every day of the order history with its seasonal weight (and some year-on-year growth)."""
    days = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    weights = [_MONTH_FACTOR[d.month - 1] * _WEEKDAY_FACTOR[d.weekday()] * (1.18 if d.year == 2024 else 1.0)
               for d in days]
    return days, weights


def _status(rng: random.Random, day: date) -> str:
    """Recent orders are still in flight; older ones are mostly delivered."""
    age = (LAST_DAY - day).days
    if age < 3:
        return rng.choices(("placed", "shipped", "cancelled"), weights=(70, 25, 5))[0]
    if age < 10:
        return rng.choices(("placed", "shipped", "delivered", "cancelled"), weights=(10, 55, 30, 5))[0]
    return rng.choices(("delivered", "cancelled", "returned", "shipped"), weights=(84, 7, 6, 3))[0]


def _order_items(rng: random.Random, order_id: int, first_item_id: int, products: list[tuple],
                 popularity: list[float]) -> tuple[list[tuple], int]:
    """One order's item rows (distinct products) and its total in cents."""
    count = rng.choices((1, 2, 3, 4, 5), weights=(30, 25, 20, 15, 10))[0]
    chosen: list[tuple] = []
    while len(chosen) < count:
        product = rng.choices(products, weights=popularity)[0]
        if product not in chosen:
            chosen.append(product)
    rows, total = [], 0
    for offset, product in enumerate(chosen):
        quantity = rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0] + (product[2] == "grocery")
        cents = round(product[3] * 100 * (0.9 if rng.random() < 0.12 else 1.0))
        total += quantity * cents
        rows.append((first_item_id + offset, order_id, product[0], quantity, cents / 100))
    return rows, total


def _orders(rng: random.Random, customers: list[tuple], products: list[tuple],
            count: int) -> tuple[list[tuple], list[tuple]]:
    """Order rows (ids in date order) and their item rows; each total is the sum of its items."""
    days, weights = _day_weights()
    order_days = sorted(rng.choices(days, weights=weights, k=count))
    signups = [c[7] for c in customers]
    popularity = [rng.paretovariate(1.5) * (1.0 if p[4] else 0.3) for p in products]
    orders: list[tuple] = []
    items: list[tuple] = []
    for order_id, day in enumerate(order_days, start=1):
        eligible = max(1, bisect.bisect_right(signups, day.isoformat()))
        customer = customers[int(eligible * rng.random() ** 1.4)]
        rows, cents = _order_items(rng, order_id, len(items) + 1, products, popularity)
        items.extend(rows)
        channel = rng.choices(("web", "mobile", "store"), weights=(55, 35, 10))[0]
        orders.append((order_id, customer[0], day.isoformat(), _status(rng, day), channel, cents / 100))
    return orders, items
