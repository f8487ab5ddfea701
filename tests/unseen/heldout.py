"""The held-out split: written before any tuning and never used to tune; read only to report figures.

``league`` is a whole warehouse no dev case touches; the others add differently worded
questions on the dev warehouses.
"""

from __future__ import annotations

from tests.unseen.cases import Case, _cases

HELDOUT: list[Case] = [
    *_cases("league", [
        ("how many teams are in the league", "SELECT COUNT(*) FROM teams"),
        ("players per position", "SELECT position, COUNT(*) FROM players GROUP BY position"),
        ("average wage by position", "SELECT position, AVG(wage_amt) FROM players GROUP BY position"),
        ("how many matches were played in 2024", "SELECT COUNT(*) FROM matches WHERE played_on BETWEEN "
         "'2024-01-01' AND '2024-12-31'"),
        ("total attendance per home team", "SELECT t.team_name, SUM(m.attendance) FROM matches m "
         "JOIN teams t ON t.team_id = m.home_team_id GROUP BY t.team_id"),
        ("average goals scored by the away side", "SELECT AVG(away_goals) FROM matches"),
        ("which teams are based in Bergen", "SELECT team_name FROM teams WHERE home_town = 'Bergen'"),
        ("the 3 highest paid players", "SELECT player_name, wage_amt FROM players ORDER BY wage_amt DESC LIMIT 3",
         True),
        ("how many forwards does Harbour FC have", "SELECT COUNT(*) FROM players p JOIN teams t "
         "ON t.team_id = p.team_id WHERE t.team_name = 'Harbour FC' AND p.position = 'forward'"),
        ("biggest crowd at a match", "SELECT MAX(attendance) FROM matches"),
        ("total wage bill per team", "SELECT t.team_name, SUM(p.wage_amt) FROM players p "
         "JOIN teams t ON t.team_id = p.team_id GROUP BY t.team_id"),
        ("how many yellow cards were shown", None),
        ("delete the matches from 2023", None),
        ("who is the best coach", None),
    ]),
    *_cases("hospital", [
        ("how many admissions did the icu ward have", "SELECT COUNT(*) FROM admissions WHERE ward = 'icu'"),
        ("mean dose in mg per drug", "SELECT drug_name, AVG(dose_mg) FROM prescriptions GROUP BY drug_name"),
        ("patients by sex", "SELECT sex, COUNT(*) FROM patients GROUP BY sex"),
        ("how many beds does the hospital have", None),
    ]),
    *_cases("fleet", [
        ("count of trips by destination city", "SELECT destinationCity, COUNT(*) FROM Trip GROUP BY destinationCity"),
        ("combined capacity in kg of all diesel vehicles",
         "SELECT SUM(capacityKg) FROM Vehicle WHERE fuelType = 'diesel'"),
        ("how many vehicles are based at River Hub", "SELECT COUNT(*) FROM Vehicle v "
         "JOIN Depot d ON d.depotId = v.depotId WHERE d.depotName = 'River Hub'"),
        ("remove every trip from Ghent", None),
    ]),
    *_cases("billing", [
        ("how many invoices were issued in 2023", "SELECT COUNT(*) FROM inv WHERE issued_dt BETWEEN '2023-01-01' "
         "AND '2023-12-31'"),
        ("average monthly price of the plans", "SELECT AVG(monthly_amt) FROM plan"),
        ("how many admins are there", "SELECT COUNT(*) FROM usr WHERE role = 'admin'"),
        ("what is our net promoter score", None),
    ]),
    *_cases("school", [
        ("how many students are in grade 10", "SELECT COUNT(*) FROM students WHERE grade_level = 10"),
        ("average score per subject", "SELECT c.subject, AVG(e.score) FROM enrollments e "
         "JOIN courses c ON c.id = e.course_id GROUP BY c.subject"),
        ("number of courses per department", "SELECT t.department, COUNT(*) FROM courses c "
         "JOIN teachers t ON t.id = c.teacher_id GROUP BY t.department"),
        ("how many buses does the school run", None),
    ]),
]
