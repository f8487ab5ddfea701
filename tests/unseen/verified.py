"""Verified examples on the dev warehouses, as a person would approve them over time.

None of these questions is a dev or held-out question; some share a shape with one (the same
question about another value, number or year), most do not. The harness measures the lift.
"""

from __future__ import annotations

from tests.unseen.gigs import GIGS_VERIFIED

VERIFIED: dict[str, list[tuple[str, str]]] = {
    "hospital": [
        ("how many doctors work in oncology", "SELECT COUNT(*) FROM doctors WHERE specialty = 'oncology'"),
        ("which 3 admissions had the biggest bills",
         "SELECT admission_id, bill_amt FROM admissions ORDER BY bill_amt DESC LIMIT 3"),
        ("total billed amount for the north ward", "SELECT SUM(bill_amt) FROM admissions WHERE ward = 'north'"),
        ("list the doctors hired after 2010", "SELECT doctor_name FROM doctors WHERE hired_on >= '2011-01-01'"),
    ],
    "fleet": [
        ("how many trips went to Graz", "SELECT COUNT(*) FROM Trip WHERE destinationCity = 'Graz'"),
        ("average trip distance in km", "SELECT AVG(distanceKm) FROM Trip"),
        ("how many drivers hold a B license", "SELECT COUNT(*) FROM Driver WHERE licenseClass = 'B'"),
        ("how many trips started in Ghent", "SELECT COUNT(*) FROM Trip WHERE originCity = 'Ghent'"),
    ],
    "billing": [
        ("how many invoices are void", "SELECT COUNT(*) FROM inv WHERE status = 'void'"),
        ("total invoice amount per country", "SELECT a.ctry, SUM(i.total_amt) FROM inv i "
         "JOIN acct a ON a.acct_id = i.acct_id GROUP BY a.ctry"),
        ("how many invoices are open", "SELECT COUNT(*) FROM inv WHERE status = 'open'"),
        ("how many accounts are on the Free plan", "SELECT COUNT(*) FROM acct a "
         "JOIN plan p ON p.plan_cd = a.plan_cd WHERE p.plan_nm = 'Free'"),
    ],
    "school": [
        ("how many teachers are in the science department",
         "SELECT COUNT(*) FROM teachers WHERE department = 'science'"),
        ("how many enrollments are there for Physics", "SELECT COUNT(*) FROM enrollments e "
         "JOIN courses c ON c.id = e.course_id WHERE c.title = 'Physics'"),
        ("average score in the spring term", "SELECT AVG(score) FROM enrollments WHERE term = 'spring'"),
    ],
    "gigs": GIGS_VERIFIED,
}
