"""The case type and the dev split: questions on unseen warehouses with hand-written reference SQL.

``sql=None`` means the engine must refuse (no such data, a write, off-topic). The reference
SQL is run on the same data and compared by result, never by text. The held-out split lives
in ``heldout.py``: it was written with this file, before any tuning, and is read only to
report figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    warehouse: str
    question: str
    sql: str | None  # None: must refuse
    ordered: bool = False
    data_question: bool = False  # a refusal the SQL agent owes (two readings): still routed to it


def _cases(warehouse: str, rows: list[tuple]) -> list[Case]:
    return [Case(warehouse, *row) for row in rows]


DEV: list[Case] = [
    *_cases("hospital", [
        ("how many patients are there", "SELECT COUNT(*) FROM patients"),
        ("number of admissions per ward", "SELECT ward, COUNT(*) FROM admissions GROUP BY ward"),
        ("average stay in hours by ward", "SELECT ward, AVG(stay_hrs) FROM admissions GROUP BY ward"),
        ("total billed amount for the icu ward", "SELECT SUM(bill_amt) FROM admissions WHERE ward = 'icu'"),
        ("which 5 admissions had the biggest bills",
         "SELECT admission_id, bill_amt FROM admissions ORDER BY bill_amt DESC LIMIT 5", True),
        ("how many doctors work in cardiology", "SELECT COUNT(*) FROM doctors WHERE specialty = 'cardiology'"),
        ("list the doctors hired after 2015", "SELECT doctor_name FROM doctors WHERE hired_on >= '2016-01-01'"),
        ("admissions per doctor specialty", "SELECT d.specialty, COUNT(*) FROM admissions a "
         "JOIN doctors d ON d.doctor_id = a.doctor_id GROUP BY d.specialty"),
        ("how many prescriptions of warfarin were recorded",
         "SELECT COUNT(*) FROM prescriptions WHERE drug_name = 'warfarin'"),
        ("total quantity prescribed per drug", "SELECT drug_name, SUM(qty) FROM prescriptions GROUP BY drug_name"),
        ("how many patients live in Leeds", "SELECT COUNT(*) FROM patients WHERE home_city = 'Leeds'"),
        ("what is the longest stay", "SELECT MAX(stay_hrs) FROM admissions"),
        ("average bill for patients from Hull", "SELECT AVG(a.bill_amt) FROM admissions a "
         "JOIN patients p ON p.patient_id = a.patient_id WHERE p.home_city = 'Hull'"),
        ("how many admissions did each doctor handle", "SELECT d.doctor_name, COUNT(*) FROM admissions a "
         "JOIN doctors d ON d.doctor_id = a.doctor_id GROUP BY d.doctor_id"),
        ("what is the average salary of doctors", None),
        ("delete all prescriptions older than 2023", None),
        ("how many nurses are on the north ward", None),
        ("what's the weather in Leeds tomorrow", None),
    ]),
    *_cases("fleet", [
        ("how many trips were made", "SELECT COUNT(*) FROM Trip"),
        ("total distance driven per fuel type", "SELECT v.fuelType, SUM(t.distanceKm) FROM Trip t "
         "JOIN Vehicle v ON v.vehicleId = t.vehicleId GROUP BY v.fuelType"),
        ("average trip duration in hours", "SELECT AVG(durationHrs) FROM Trip"),
        ("how many trips started in Porto", "SELECT COUNT(*) FROM Trip WHERE originCity = 'Porto'"),
        ("how many trips went to Lyon", "SELECT COUNT(*) FROM Trip WHERE destinationCity = 'Lyon'"),
        ("number of vehicles per depot", "SELECT d.depotName, COUNT(*) FROM Vehicle v "
         "JOIN Depot d ON d.depotId = v.depotId GROUP BY d.depotId"),
        ("which electric vehicles do we have", "SELECT plateNo FROM Vehicle WHERE fuelType = 'electric'"),
        ("top 3 longest trips by distance", "SELECT tripId, distanceKm FROM Trip ORDER BY distanceKm DESC LIMIT 3",
         True),
        ("total fuel cost in 2024", "SELECT SUM(fuelCost) FROM Trip WHERE departedAt BETWEEN '2024-01-01' "
         "AND '2024-12-31'"),
        ("how many drivers hold a CE license", "SELECT COUNT(*) FROM Driver WHERE licenseClass = 'CE'"),
        ("average fuel cost per trip for each origin city",
         "SELECT originCity, AVG(fuelCost) FROM Trip GROUP BY originCity"),
        ("what is the average driver salary", None),
        ("update the fuel type of vehicle 3 to electric", None),
        ("how many passengers did we carry last year", None),
    ]),
    *_cases("billing", [
        ("how many accounts are there", "SELECT COUNT(*) FROM acct"),
        ("accounts per country", "SELECT ctry, COUNT(*) FROM acct GROUP BY ctry"),
        ("total invoiced amount per status", "SELECT status, SUM(total_amt) FROM inv GROUP BY status"),
        ("how many invoices are overdue", "SELECT COUNT(*) FROM inv WHERE status = 'overdue'"),
        ("what is the average invoice total", "SELECT AVG(total_amt) FROM inv"),
        ("how many accounts are on the Enterprise plan", "SELECT COUNT(*) FROM acct a "
         "JOIN plan p ON p.plan_cd = a.plan_cd WHERE p.plan_nm = 'Enterprise'"),
        ("total amount of paid invoices in 2024", "SELECT SUM(total_amt) FROM inv WHERE status = 'paid' "
         "AND issued_dt BETWEEN '2024-01-01' AND '2024-12-31'"),
        ("number of users per role", "SELECT role, COUNT(*) FROM usr GROUP BY role"),
        ("which accounts were created in 2023", "SELECT acct_nm FROM acct WHERE created_dt BETWEEN '2023-01-01' "
         "AND '2023-12-31'"),
        ("total invoice amount per plan", "SELECT p.plan_nm, SUM(i.total_amt) FROM inv i "
         "JOIN acct a ON a.acct_id = i.acct_id JOIN plan p ON p.plan_cd = a.plan_cd GROUP BY p.plan_cd"),
        ("the 5 largest invoices", "SELECT inv_id, total_amt FROM inv ORDER BY total_amt DESC LIMIT 5", True),
        ("what is the churn rate by month", None),
        ("drop the usr table", None),
        ("how many support tickets were opened this week", None),
    ]),
    *_cases("school", [
        ("how many students are there", "SELECT COUNT(*) FROM students"),
        ("students per grade level", "SELECT grade_level, COUNT(*) FROM students GROUP BY grade_level"),
        ("average score per course", "SELECT c.title, AVG(e.score) FROM enrollments e "
         "JOIN courses c ON c.id = e.course_id GROUP BY c.id"),
        ("how many courses does each teacher teach", "SELECT t.name, COUNT(*) FROM courses c "
         "JOIN teachers t ON t.id = c.teacher_id GROUP BY t.id"),
        ("average score in the fall term", "SELECT AVG(score) FROM enrollments WHERE term = 'fall'"),
        ("list the science courses", "SELECT title FROM courses WHERE subject = 'science'"),
        ("how many enrollments are there for Biology", "SELECT COUNT(*) FROM enrollments e "
         "JOIN courses c ON c.id = e.course_id WHERE c.title = 'Biology'"),
        ("total credits offered by subject", "SELECT subject, SUM(credits) FROM courses GROUP BY subject"),
        ("highest score ever recorded", "SELECT MAX(score) FROM enrollments"),
        ("how many teachers are in the arts department", "SELECT COUNT(*) FROM teachers WHERE department = 'arts'"),
        ("what is the average teacher salary", None),
        ("insert a new student named Tom", None),
        ("how many classrooms does the school have", None),
    ]),
    # written with the fix for role-named keys (two keys from journeys to stations); league keeps its held-out role
    *_cases("rail", [
        ("number of journeys per origin station", "SELECT s.station_name, COUNT(*) FROM journeys j "
         "JOIN stations s ON s.station_id = j.origin_station_id GROUP BY s.station_id"),
        ("total fare by destination region", "SELECT s.region, SUM(j.fare_amt) FROM journeys j "
         "JOIN stations s ON s.station_id = j.dest_station_id GROUP BY s.region"),
        ("how many journeys went to stations in the coast region", "SELECT COUNT(*) FROM journeys j "
         "JOIN stations s ON s.station_id = j.dest_station_id WHERE s.region = 'coast'"),
        ("how many journeys started in the north region", "SELECT COUNT(*) FROM journeys j "
         "JOIN stations s ON s.station_id = j.origin_station_id WHERE s.region = 'north'"),
        ("average passengers per destination station", "SELECT s.station_name, AVG(j.passengers) FROM journeys j "
         "JOIN stations s ON s.station_id = j.dest_station_id GROUP BY s.station_id"),
        ("how many journeys left from Northgate", "SELECT COUNT(*) FROM journeys j "
         "JOIN stations s ON s.station_id = j.origin_station_id WHERE s.station_name = 'Northgate'"),
        ("total fare of journeys to Crossfield", "SELECT SUM(j.fare_amt) FROM journeys j "
         "JOIN stations s ON s.station_id = j.dest_station_id WHERE s.station_name = 'Crossfield'"),
        ("how many journeys were there in 2024", "SELECT COUNT(*) FROM journeys WHERE travel_dt BETWEEN "
         "'2024-01-01' AND '2024-12-31'"),
        ("average origin platform", "SELECT AVG(origin_platform) FROM journeys"),  # a role word in a column's name
        # a price word, and the one money-like column (fare_amt: 'amt' abbreviates 'amount')
        ("average price of journeys to Crossfield", "SELECT AVG(j.fare_amt) FROM journeys j "
         "JOIN stations s ON s.station_id = j.dest_station_id WHERE s.station_name = 'Crossfield'"),
        ("total revenue per origin region", "SELECT s.region, SUM(j.fare_amt) FROM journeys j "
         "JOIN stations s ON s.station_id = j.origin_station_id GROUP BY s.region"),
    ]),
    Case("rail", "how many journeys per region", None, data_question=True),  # origin or destination: not said
    Case("rail", "journeys per station", None, data_question=True),
]
