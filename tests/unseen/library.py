"""A sixth domain, library loans, written after the first five and before running the engine on it.

camelCase tables and columns with abbreviations (``pubYr``, ``pageCnt``, ``lateFeeAmt``,
``joinedDt``), and a junction table (``TitleAuthor``) between titles and authors. The reference
SQL was checked by hand against the built file; the figures on this split are reported as they
come out, never tuned on (``python -m tests.unseen.harness library``).
"""

from __future__ import annotations

from tests.unseen.cases import Case, _cases

LIBRARY: list[Case] = _cases("library", [
    ("how many members are there", "SELECT COUNT(*) FROM Member"),
    ("number of loans per branch", "SELECT b.branchName, COUNT(*) FROM Loan l "
     "JOIN Branch b ON b.branchId = l.branchId GROUP BY b.branchId"),
    ("members per tier", "SELECT tier, COUNT(*) FROM Member GROUP BY tier"),
    ("average page count by genre", "SELECT genre, AVG(pageCnt) FROM Title GROUP BY genre"),
    ("total late fees per branch", "SELECT b.branchName, SUM(l.lateFeeAmt) FROM Loan l "
     "JOIN Branch b ON b.branchId = l.branchId GROUP BY b.branchId"),
    ("how many loans were never returned", "SELECT COUNT(*) FROM Loan WHERE returnDt IS NULL"),
    ("which 5 titles have the most pages", "SELECT titleName, pageCnt FROM Title ORDER BY pageCnt DESC LIMIT 5",
     True),
    ("how many student members joined in 2023", "SELECT COUNT(*) FROM Member WHERE tier = 'student' "
     "AND joinedDt BETWEEN '2023-01-01' AND '2023-12-31'"),
    ("how many titles did each author write", "SELECT a.authorName, COUNT(*) FROM TitleAuthor ta "
     "JOIN Author a ON a.authorId = ta.authorId GROUP BY a.authorId"),
    ("how many loans were of mystery titles", "SELECT COUNT(*) FROM Loan l "
     "JOIN Title t ON t.titleId = l.titleId WHERE t.genre = 'mystery'"),
    ("average replacement cost of a title", "SELECT AVG(replacementCost) FROM Title"),
    ("the earliest publication year", "SELECT MIN(pubYr) FROM Title"),
    ("how many branches are in the riverside district", "SELECT COUNT(*) FROM Branch WHERE district = 'riverside'"),
    ("loans per member tier", "SELECT m.tier, COUNT(*) FROM Loan l "
     "JOIN Member m ON m.memberId = l.memberId GROUP BY m.tier"),
    ("number of authors per nationality", "SELECT nationality, COUNT(*) FROM Author GROUP BY nationality"),
    ("how many titles have an Irish author", "SELECT COUNT(DISTINCT ta.titleId) FROM TitleAuthor ta "
     "JOIN Author a ON a.authorId = ta.authorId WHERE a.nationality = 'Irish'"),
    ("which branch opened most recently", "SELECT branchName FROM Branch ORDER BY openedYr DESC LIMIT 1"),
    ("how many staff work at each branch", None),
    ("delete loans older than 2020", None),
    ("what is the average member age", None),
    ("recommend a good book for me", None),
    ("how many e-books were downloaded last month", None),
    ("list the members with unreturned loans and email them", None),
])

ROUTING_EXTRA: list[tuple[str, str, str | None]] = [
    ("library", "profile the Loan table", "data_profiler"),
    ("library", "find anomalies in the daily number of loans", "anomaly_detector"),
    ("library", "validate the Member table against its expectations", "schema_validator"),
    ("library", "send a reminder to every member with a late loan", None),
    ("library", "tidy up the branches", None),
    ("library", "drop table Loan", None),
    ("library", "what time does the library open on Sunday", None),
    ("library", "list the members with unreturned loans and email them", None),
]
