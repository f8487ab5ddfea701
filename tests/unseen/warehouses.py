"""Warehouses of domains the engine was never tuned on, built as SQLite files from code.

Each builder takes a path and writes a small, seeded warehouse. The naming styles differ on
purpose: snake_case plurals (hospital), camelCase singulars (fleet), abbreviations
(billing), a junction table with keys by convention only (school), home/away pairs (league),
camelCase with abbreviations and an author junction (library, written after the first five),
snake_case with a promoter's jargon the names do not spell (gigs: the learning-from-examples schema),
two foreign keys from one table to another, named by role (rail: origin/destination stations).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path


def _day(rng: random.Random, years: tuple[int, int]) -> str:
    return f"{rng.randint(*years)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def build_hospital(path: Path) -> None:
    rng = random.Random(11)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, birth_date DATE,
                               sex TEXT, home_city TEXT);
        CREATE TABLE doctors (doctor_id INTEGER PRIMARY KEY, doctor_name TEXT NOT NULL, specialty TEXT,
                              hired_on DATE);
        CREATE TABLE admissions (admission_id INTEGER PRIMARY KEY,
                                 patient_id INTEGER REFERENCES patients(patient_id),
                                 doctor_id INTEGER REFERENCES doctors(doctor_id), ward TEXT,
                                 admitted_at DATE, stay_hrs REAL, bill_amt NUMERIC(10,2));
        CREATE TABLE prescriptions (rx_id INTEGER PRIMARY KEY,
                                    admission_id INTEGER REFERENCES admissions(admission_id),
                                    drug_name TEXT, dose_mg INTEGER, qty INTEGER);
    """)
    cities = ["Leeds", "Hull", "Derby", "Bath", "Ely"]
    con.executemany("INSERT INTO patients VALUES (?, ?, ?, ?, ?)", [
        (i, f"Patient {i}", _day(rng, (1940, 2015)), rng.choice(["F", "M"]), rng.choice(cities))
        for i in range(1, 81)])
    specialties = ["cardiology", "oncology", "pediatrics", "neurology"]
    con.executemany("INSERT INTO doctors VALUES (?, ?, ?, ?)", [
        (i, f"Dr {n}", specialties[i % 4], _day(rng, (2005, 2023)))
        for i, n in enumerate(["Okafor", "Lind", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Quinn"], 1)])
    wards = ["north", "south", "east", "icu"]
    con.executemany("INSERT INTO admissions VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (i, rng.randint(1, 80), rng.randint(1, 8), rng.choice(wards), _day(rng, (2022, 2024)),
         round(rng.uniform(2, 240), 1), round(rng.uniform(150, 25000), 2)) for i in range(1, 201)])
    drugs = ["amoxicillin", "ibuprofen", "metformin", "warfarin", "insulin"]
    con.executemany("INSERT INTO prescriptions VALUES (?, ?, ?, ?, ?)", [
        (i, rng.randint(1, 200), rng.choice(drugs), rng.choice([5, 10, 250, 500]), rng.randint(1, 60))
        for i in range(1, 301)])
    con.commit()
    con.close()


def build_fleet(path: Path) -> None:
    rng = random.Random(12)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE Depot (depotId INTEGER PRIMARY KEY, depotName TEXT NOT NULL, city TEXT);
        CREATE TABLE Vehicle (vehicleId INTEGER PRIMARY KEY, plateNo TEXT NOT NULL, model TEXT,
                              fuelType TEXT, capacityKg INTEGER, depotId INTEGER REFERENCES Depot(depotId));
        CREATE TABLE Driver (driverId INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, licenseClass TEXT);
        CREATE TABLE Trip (tripId INTEGER PRIMARY KEY, vehicleId INTEGER REFERENCES Vehicle(vehicleId),
                           driverId INTEGER REFERENCES Driver(driverId), originCity TEXT, destinationCity TEXT,
                           departedAt DATE, distanceKm REAL, durationHrs REAL, fuelCost REAL);
    """)
    cities = ["Porto", "Lyon", "Graz", "Turin", "Ghent", "Brno"]
    con.executemany("INSERT INTO Depot VALUES (?, ?, ?)", [
        (1, "North Yard", "Porto"), (2, "River Hub", "Lyon"), (3, "East Gate", "Graz")])
    con.executemany("INSERT INTO Vehicle VALUES (?, ?, ?, ?, ?, ?)", [
        (i, f"PL-{1000 + i}", rng.choice(["Actros", "Daily", "Sprinter", "FH16"]),
         rng.choice(["diesel", "electric", "hybrid"]), rng.choice([1500, 3500, 12000, 26000]), rng.randint(1, 3))
        for i in range(1, 31)])
    con.executemany("INSERT INTO Driver VALUES (?, ?, ?, ?)", [
        (i, rng.choice(["Ana", "Ben", "Caro", "Dev", "Eli", "Finn"]), rng.choice(["Marsh", "Oduya", "Petit", "Ruiz"]),
         rng.choice(["B", "C", "CE"])) for i in range(1, 21)])
    rows = []
    for i in range(1, 401):
        origin, dest = rng.sample(cities, 2)
        km = round(rng.uniform(20, 900), 1)
        rows.append((i, rng.randint(1, 30), rng.randint(1, 20), origin, dest, _day(rng, (2023, 2024)), km,
                     round(km / rng.uniform(50, 85), 2), round(km * rng.uniform(0.2, 0.6), 2)))
    con.executemany("INSERT INTO Trip VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def build_billing(path: Path) -> None:
    rng = random.Random(13)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE plan (plan_cd TEXT PRIMARY KEY, plan_nm TEXT NOT NULL, monthly_amt NUMERIC(8,2));
        CREATE TABLE acct (acct_id INTEGER PRIMARY KEY, acct_nm TEXT NOT NULL,
                           plan_cd TEXT REFERENCES plan(plan_cd), ctry TEXT, created_dt DATE);
        CREATE TABLE inv (inv_id INTEGER PRIMARY KEY, acct_id INTEGER REFERENCES acct(acct_id), issued_dt DATE,
                          total_amt NUMERIC(10,2), status TEXT);
        CREATE TABLE usr (usr_id INTEGER PRIMARY KEY, acct_id INTEGER REFERENCES acct(acct_id), email TEXT,
                          role TEXT, last_login_dt DATE);
    """)
    con.executemany("INSERT INTO plan VALUES (?, ?, ?)", [
        ("FREE", "Free", 0), ("STD", "Standard", 29), ("PRO", "Professional", 99), ("ENT", "Enterprise", 499)])
    countries = ["DE", "FR", "US", "BR", "JP"]
    con.executemany("INSERT INTO acct VALUES (?, ?, ?, ?, ?)", [
        (i, f"Acme {i}", rng.choice(["FREE", "STD", "PRO", "ENT"]), rng.choice(countries), _day(rng, (2020, 2024)))
        for i in range(1, 61)])
    con.executemany("INSERT INTO inv VALUES (?, ?, ?, ?, ?)", [
        (i, rng.randint(1, 60), _day(rng, (2023, 2024)), round(rng.uniform(10, 5000), 2),
         rng.choice(["paid", "open", "void", "overdue"])) for i in range(1, 251)])
    con.executemany("INSERT INTO usr VALUES (?, ?, ?, ?, ?)", [
        (i, rng.randint(1, 60), f"user{i}@example.com", rng.choice(["admin", "member", "viewer"]),
         _day(rng, (2024, 2024))) for i in range(1, 151)])
    con.commit()
    con.close()


def build_school(path: Path) -> None:
    rng = random.Random(14)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE teachers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, department TEXT);
        CREATE TABLE students (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, grade_level INTEGER,
                               enrolled_on DATE);
        CREATE TABLE courses (id INTEGER PRIMARY KEY, title TEXT NOT NULL, subject TEXT, credits INTEGER,
                              teacher_id INTEGER);
        CREATE TABLE enrollments (student_id INTEGER, course_id INTEGER, term TEXT, score REAL,
                                  PRIMARY KEY (student_id, course_id, term));
    """)
    departments = ["science", "humanities", "arts"]
    con.executemany("INSERT INTO teachers VALUES (?, ?, ?)", [
        (i, f"Teacher {n}", departments[i % 3]) for i, n in enumerate("ABCDEFG", 1)])
    con.executemany("INSERT INTO students VALUES (?, ?, ?, ?, ?)", [
        (i, rng.choice(["Mia", "Noah", "Ivy", "Leo", "Zoe", "Sam"]), rng.choice(["Hart", "Byrne", "Cole", "Diaz"]),
         rng.randint(9, 12), _day(rng, (2019, 2024))) for i in range(1, 91)])
    subjects = [("Algebra", "math"), ("Geometry", "math"), ("Biology", "science"), ("Chemistry", "science"),
                ("History", "humanities"), ("Painting", "arts"), ("Poetry", "humanities"), ("Physics", "science")]
    con.executemany("INSERT INTO courses VALUES (?, ?, ?, ?, ?)", [
        (i, t, s, rng.choice([2, 3, 4]), rng.randint(1, 7)) for i, (t, s) in enumerate(subjects, 1)])
    rows = {(rng.randint(1, 90), rng.randint(1, 8), rng.choice(["fall", "spring"])) for _ in range(400)}
    con.executemany("INSERT INTO enrollments VALUES (?, ?, ?, ?)", [
        (s, c, t, round(rng.uniform(40, 100), 1)) for s, c, t in sorted(rows)])
    con.commit()
    con.close()


def build_league(path: Path) -> None:
    rng = random.Random(15)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE teams (team_id INTEGER PRIMARY KEY, team_name TEXT NOT NULL, home_town TEXT,
                            founded_year INTEGER);
        CREATE TABLE players (player_id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams(team_id),
                              player_name TEXT, position TEXT, wage_amt NUMERIC(10,2), birth_dt DATE);
        CREATE TABLE matches (match_id INTEGER PRIMARY KEY, home_team_id INTEGER REFERENCES teams(team_id),
                              away_team_id INTEGER REFERENCES teams(team_id), played_on DATE, home_goals INTEGER,
                              away_goals INTEGER, attendance INTEGER);
    """)
    teams = [(1, "Harbour FC", "Kiel", 1901), (2, "Valley United", "Bergen", 1923),
             (3, "Forge Athletic", "Tampere", 1899), (4, "Lakeside Rovers", "Aarhus", 1950),
             (5, "Summit City", "Bergen", 1977), (6, "Mill Town", "Kiel", 1912)]
    con.executemany("INSERT INTO teams VALUES (?, ?, ?, ?)", teams)
    con.executemany("INSERT INTO players VALUES (?, ?, ?, ?, ?, ?)", [
        (i, rng.randint(1, 6), f"Player {i}", rng.choice(["goalkeeper", "defender", "midfielder", "forward"]),
         round(rng.uniform(800, 20000), 2), _day(rng, (1990, 2006))) for i in range(1, 121)])
    rows = []
    for i in range(1, 121):
        home, away = rng.sample(range(1, 7), 2)
        rows.append((i, home, away, _day(rng, (2023, 2024)), rng.randint(0, 5), rng.randint(0, 4),
                     rng.randint(900, 30000)))
    con.executemany("INSERT INTO matches VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def build_library(path: Path) -> None:
    rng = random.Random(16)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE Branch (branchId INTEGER PRIMARY KEY, branchName TEXT NOT NULL, district TEXT,
                             openedYr INTEGER);
        CREATE TABLE Author (authorId INTEGER PRIMARY KEY, authorName TEXT NOT NULL, nationality TEXT);
        CREATE TABLE Title (titleId INTEGER PRIMARY KEY, titleName TEXT NOT NULL, genre TEXT, pubYr INTEGER,
                            pageCnt INTEGER, replacementCost REAL);
        CREATE TABLE TitleAuthor (titleId INTEGER REFERENCES Title(titleId),
                                  authorId INTEGER REFERENCES Author(authorId), PRIMARY KEY (titleId, authorId));
        CREATE TABLE Member (memberId INTEGER PRIMARY KEY, fullName TEXT NOT NULL, email TEXT, tier TEXT,
                             joinedDt DATE, homeBranchId INTEGER REFERENCES Branch(branchId));
        CREATE TABLE Loan (loanId INTEGER PRIMARY KEY, titleId INTEGER REFERENCES Title(titleId),
                           memberId INTEGER REFERENCES Member(memberId), branchId INTEGER REFERENCES Branch(branchId),
                           loanDt DATE, dueDt DATE, returnDt DATE, lateFeeAmt REAL);
    """)
    con.executemany("INSERT INTO Branch VALUES (?, ?, ?, ?)", [
        (1, "Central", "old town", 1921), (2, "Quayside", "riverside", 1978), (3, "Elm Park", "northfield", 1994),
        (4, "Mill Lane", "riverside", 2009), (5, "Hilltop", "northfield", 2016)])
    con.executemany("INSERT INTO Author VALUES (?, ?, ?)", [
        (i, name, nat) for i, (name, nat) in enumerate([
            ("A. Byrne", "Irish"), ("C. Duarte", "Portuguese"), ("E. Foss", "Norwegian"), ("G. Hale", "Irish"),
            ("I. Janssen", "Dutch"), ("K. Lowe", "British"), ("M. Nagy", "Hungarian"), ("O. Pike", "British"),
            ("Q. Rossi", "Italian"), ("S. Toole", "Irish")], 1)])
    genres = ["mystery", "fantasy", "history", "poetry", "science"]
    pages = rng.sample(range(90, 1200), 60)
    con.executemany("INSERT INTO Title VALUES (?, ?, ?, ?, ?, ?)", [
        (i, f"Title {i}", rng.choice(genres), rng.randint(1950, 2024), pages[i - 1], round(rng.uniform(6, 60), 2))
        for i in range(1, 61)])
    pairs = {(t, rng.randint(1, 10)) for t in range(1, 61)} | {(rng.randint(1, 60), rng.randint(1, 10))
                                                             for _ in range(15)}
    con.executemany("INSERT INTO TitleAuthor VALUES (?, ?)", sorted(pairs))
    con.executemany("INSERT INTO Member VALUES (?, ?, ?, ?, ?, ?)", [
        (i, f"Member {i}", f"member{i}@example.org", rng.choice(["basic", "plus", "student"]),
         _day(rng, (2019, 2024)), rng.randint(1, 5)) for i in range(1, 121)])
    rows = []
    for i in range(1, 501):
        loan = _day(rng, (2022, 2024))
        lent = date.fromisoformat(loan)
        due = (lent + timedelta(days=21)).isoformat()
        returned = None if rng.random() < 0.12 else (lent + timedelta(days=rng.randint(1, 45))).isoformat()
        fee = round(rng.uniform(0.5, 12), 2) if returned and returned > due else 0.0
        rows.append((i, rng.randint(1, 60), rng.randint(1, 120), rng.randint(1, 5), loan, due, returned, fee))
    con.executemany("INSERT INTO Loan VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def build_gigs(path: Path) -> None:
    """A concert promoter's books: the questions say 'turnout', 'shows', 'acts'; the names do not."""
    rng = random.Random(17)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE artists (artist_id INTEGER PRIMARY KEY, artist_name TEXT NOT NULL, genre TEXT,
                              home_country TEXT);
        CREATE TABLE venues (venue_id INTEGER PRIMARY KEY, venue_name TEXT NOT NULL, city TEXT, seat_cap INTEGER);
        CREATE TABLE gigs (gig_id INTEGER PRIMARY KEY, artist_id INTEGER REFERENCES artists(artist_id),
                           venue_id INTEGER REFERENCES venues(venue_id), gig_dt DATE, tickets_sold INTEGER,
                           gross_amt NUMERIC(10,2), promoter_fee NUMERIC(8,2));
    """)
    con.executemany("INSERT INTO artists VALUES (?, ?, ?, ?)", [
        (1, "The Lanterns", "indie", "Ireland"), (2, "Mira Sol", "jazz", "Portugal"), (3, "Copperline", "rock",
        "Canada"), (4, "Nadia K", "jazz", "Canada"), (5, "Static Bloom", "electronic", "Ireland"),
        (6, "Old Ferry", "folk", "Portugal"), (7, "Vela", "indie", "Spain"), (8, "Brass Tide", "jazz", "Spain")])
    con.executemany("INSERT INTO venues VALUES (?, ?, ?, ?)", [
        (1, "Blue Hall", "Lisbon", 1800), (2, "The Vault", "Porto", 450), (3, "Riverside Arena", "Lisbon", 9000),
        (4, "Cellar 9", "Dublin", 300), (5, "Harbour Stage", "Dublin", 2500), (6, "Old Mill", "Cork", 700)])
    caps = {1: 1800, 2: 450, 3: 9000, 4: 300, 5: 2500, 6: 700}
    rows = []
    for i in range(1, 161):
        venue = rng.randint(1, 6)
        sold = rng.randint(caps[venue] // 5, caps[venue])
        price = rng.uniform(12, 60)
        rows.append((i, rng.randint(1, 8), venue, _day(rng, (2023, 2024)), sold, round(sold * price, 2),
                     round(rng.uniform(200, 3000), 2)))
    con.executemany("INSERT INTO gigs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def build_rail(path: Path) -> None:
    """Journeys between stations: ``origin_station_id`` and ``dest_station_id`` both reference ``stations``."""
    rng = random.Random(18)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE stations (station_id INTEGER PRIMARY KEY, station_name TEXT NOT NULL, region TEXT);
        CREATE TABLE journeys (journey_id INTEGER PRIMARY KEY,
                               origin_station_id INTEGER REFERENCES stations(station_id),
                               dest_station_id INTEGER REFERENCES stations(station_id), travel_dt DATE,
                               fare_amt NUMERIC(8,2), passengers INTEGER, origin_platform INTEGER,
                               dest_platform INTEGER);
    """)
    con.executemany("INSERT INTO stations VALUES (?, ?, ?)", [
        (1, "Northgate", "north"), (2, "Millbrook", "north"), (3, "Harbourside", "coast"), (4, "Saltmarsh", "coast"),
        (5, "Crossfield", "central"), (6, "Ashby Junction", "central"), (7, "Fenwick", "north")])
    rows = []
    for i in range(1, 201):
        origin, dest = rng.sample(range(1, 8), 2)
        rows.append((i, origin, dest, _day(rng, (2023, 2024)), round(rng.uniform(4, 90), 2), rng.randint(1, 6),
                     rng.randint(1, 8), rng.randint(1, 8)))
    con.executemany("INSERT INTO journeys VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


BUILDERS: dict[str, Callable[[Path], None]] = {
    "hospital": build_hospital, "fleet": build_fleet, "billing": build_billing, "school": build_school,
    "league": build_league, "library": build_library, "gigs": build_gigs,
    "rail": build_rail,
}
