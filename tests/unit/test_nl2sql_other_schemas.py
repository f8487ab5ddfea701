"""The offline NL→SQL composer on schemas built here (HR, library): nothing in it knows the demo's tables."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from tests.unit.nl2sql_support import answer, catalog_from_sqlite, check


def _build_hr(path: Path) -> None:
    rng = random.Random(3)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE departments (dept_no INTEGER PRIMARY KEY, title TEXT NOT NULL, location TEXT NOT NULL,
                                  budget REAL);
        CREATE TABLE staff (staff_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
                            dept_no INTEGER REFERENCES departments(dept_no), job_title TEXT, salary NUMERIC(10,2),
                            hire_date DATE, is_remote BOOLEAN);
        CREATE TABLE reviews (review_id INTEGER PRIMARY KEY, staff_id INTEGER REFERENCES staff(staff_id),
                              review_date DATE, rating INTEGER);
    """)
    con.executemany("INSERT INTO departments VALUES (?, ?, ?, ?)", [
        (1, "Engineering", "Berlin", 900000), (2, "Sales", "London", 500000), (3, "Marketing", "London", 300000),
        (4, "Finance", "Paris", 250000), (5, "Support", "Lisbon", 200000)])
    titles = ["Engineer", "Manager", "Analyst", "Designer", "Representative"]
    con.executemany("INSERT INTO staff VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (i, rng.choice(["Ada", "Bo", "Cy", "Di", "Ed"]), rng.choice(["Lee", "Kim", "Ng", "Roe"]), rng.randint(1, 5),
         rng.choice(titles), round(rng.uniform(30000, 150000), 2),
         f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", rng.randint(0, 1))
        for i in range(1, 121)])
    con.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?)", [
        (i, rng.randint(1, 120), f"{rng.randint(2022, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
         rng.randint(1, 5)) for i in range(1, 301)])
    con.commit()
    con.close()


def _build_library(path: Path) -> None:
    rng = random.Random(5)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE authors (author_id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT);
        CREATE TABLE books (book_id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                            author_id INTEGER REFERENCES authors(author_id), genre TEXT, pages INTEGER);
        CREATE TABLE members (member_id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, joined_on DATE);
        CREATE TABLE loans (loan_id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES books(book_id),
                            member_id INTEGER REFERENCES members(member_id), loan_date DATE, returned INTEGER);
    """)
    con.executemany("INSERT INTO authors VALUES (?, ?, ?)", [
        (1, "Ursula Le Guin", "USA"), (2, "Italo Calvino", "Italy"), (3, "Chinua Achebe", "Nigeria"),
        (4, "Jane Austen", "UK")])
    con.executemany("INSERT INTO books VALUES (?, ?, ?, ?, ?)", [
        (i, f"Book {i}", rng.randint(1, 4), rng.choice(["fantasy", "classic", "fiction", "poetry"]),
         rng.randint(90, 900)) for i in range(1, 41)])
    con.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", [
        (i, f"Member {i}", rng.choice(["Leeds", "York", "Bath"]),
         f"{rng.randint(2019, 2024)}-{rng.randint(1, 12):02d}-01")
        for i in range(1, 31)])
    con.executemany("INSERT INTO loans VALUES (?, ?, ?, ?, ?)", [
        (i, rng.randint(1, 40), rng.randint(1, 30),
         f"{rng.randint(2023, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", rng.randint(0, 1))
        for i in range(1, 401)])
    con.commit()
    con.close()


def _database(tmp_path_factory, name, build):
    path = tmp_path_factory.mktemp(name) / f"{name}.db"
    build(path)
    con = sqlite3.connect(path)
    yield con, catalog_from_sqlite(path)
    con.close()


@pytest.fixture(scope="module")
def hr(tmp_path_factory):
    yield from _database(tmp_path_factory, "hr", _build_hr)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    yield from _database(tmp_path_factory, "library", _build_library)



HR = [
    ("How many employees are there?", "SELECT COUNT(*) FROM staff", False),
    ("How many employees were hired in 2024?", "SELECT COUNT(*) FROM staff WHERE hire_date LIKE '2024-%'", False),
    ("Average salary by department", "SELECT d.dept_no, d.title, AVG(s.salary) FROM staff s JOIN departments d "
                                     "ON d.dept_no = s.dept_no GROUP BY 1, 2", False),
    ("Employees in the Engineering department", "SELECT s.* FROM staff s JOIN departments d ON d.dept_no = s.dept_no "
                                                "WHERE d.title = 'Engineering' ORDER BY s.staff_id", True),
    ("What is the highest salary?", "SELECT MAX(salary) FROM staff", False),
    ("Top 3 employees by salary", "SELECT * FROM staff ORDER BY salary DESC, staff_id LIMIT 3", True),
    ("How many employees per location?", "SELECT d.location, COUNT(*) FROM staff s JOIN departments d "
                                         "ON d.dept_no = s.dept_no GROUP BY 1", False),
    ("Total salary of staff in London", "SELECT SUM(s.salary) FROM staff s JOIN departments d ON d.dept_no = s.dept_no "
                                        "WHERE d.location = 'London'", False),
    ("How many remote employees are there?", "SELECT COUNT(*) FROM staff WHERE is_remote = 1", False),
    ("How many managers in Sales?", "SELECT COUNT(*) FROM staff s JOIN departments d ON d.dept_no = s.dept_no "
                                    "WHERE s.job_title = 'Manager' AND d.title = 'Sales'", False),
    ("Which department has the most employees?",
     "SELECT d.dept_no, d.title, COUNT(*) n FROM staff s JOIN departments d ON d.dept_no = s.dept_no "
     "GROUP BY 1, 2 ORDER BY n DESC, 1 LIMIT 1", True),
    ("Average rating by department in 2024",
     "SELECT d.dept_no, d.title, AVG(r.rating) FROM reviews r JOIN staff s ON s.staff_id = r.staff_id "
     "JOIN departments d ON d.dept_no = s.dept_no WHERE r.review_date LIKE '2024-%' GROUP BY 1, 2", False),
    ("staff with more than 4 reviews", "SELECT * FROM staff WHERE staff_id IN (SELECT staff_id FROM reviews "
                                       "GROUP BY 1 HAVING COUNT(*) > 4) ORDER BY staff_id", True),
]

LIBRARY = [
    ("How many loans in 2024?", "SELECT COUNT(*) FROM loans WHERE loan_date LIKE '2024-%'", False),
    ("Which genre has the most loans?", "SELECT b.genre, COUNT(*) n FROM loans l JOIN books b ON b.book_id = l.book_id "
                                        "GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1", True),
    ("Top 3 members by number of loans", "SELECT m.member_id, m.name, COUNT(*) n FROM loans l JOIN members m "
                                         "ON m.member_id = l.member_id GROUP BY 1, 2 ORDER BY n DESC, 1 LIMIT 3", True),
    ("books by Jane Austen", "SELECT b.* FROM books b JOIN authors a ON a.author_id = b.author_id "
                             "WHERE a.name = 'Jane Austen' ORDER BY b.book_id", True),
    ("How many loans were not returned?", "SELECT COUNT(*) FROM loans WHERE returned = 0", False),
    ("Which author has the most loans?",
     "SELECT a.author_id, a.name, COUNT(*) n FROM loans l JOIN books b ON b.book_id = l.book_id "
     "JOIN authors a ON a.author_id = b.author_id GROUP BY 1, 2 ORDER BY n DESC, 1 LIMIT 1", True),
    ("members in York who borrowed books in 2024",
     "SELECT * FROM members WHERE city = 'York' AND member_id IN (SELECT member_id FROM loans "
     "WHERE loan_date LIKE '2024-%') ORDER BY member_id", True),
]


@pytest.mark.parametrize(("question", "reference", "ordered"), HR, ids=[c[0] for c in HR])
def test_hr_schema_questions(hr, question, reference, ordered):
    check(*hr, question, reference, ordered)


@pytest.mark.parametrize(("question", "reference", "ordered"), LIBRARY, ids=[c[0] for c in LIBRARY])
def test_library_schema_questions(library, question, reference, ordered):
    check(*library, question, reference, ordered)


@pytest.mark.parametrize("question", ["How many orders were placed in 2024?", "Top 5 customers by revenue",
                                      "What is the average unit price of products?"])
def test_retail_questions_are_refused_on_other_schemas(hr, question):
    out = answer(question, hr[1])
    assert out["sql"] is None and out["refusal"]


def test_composer_source_names_no_demo_table_or_column():
    sources = Path(__file__).resolve().parents[2] / "airflow_aimod" / "core" / "llm"
    text = "".join(p.read_text() for p in sources.glob("*nl2sql*.py"))
    for name in ("order_items", "total_amount", "unit_price", "signup_date", "full_name", "customer_id", "Germany"):
        assert name not in text
