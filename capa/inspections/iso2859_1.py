"""ISO 2859-1:1999 (identical to GB/T 2828.1-2012): the sample size code letters (Table 1) and the master tables
of single sampling plans for normal, tightened and reduced inspection (Tables 2-A, 2-B and 2-C), written here as
the standard prints them, so that each cell can be read against the page.

Sources: ISO 2859-1:1999 *Sampling procedures for inspection by attributes — Part 1: Sampling schemes indexed by
acceptance quality limit (AQL) for lot-by-lot inspection*, Tables 1, 2-A, 2-B and 2-C; GB/T 2828.1-2012 (its
identical Chinese adoption, 表 1, 表 2-A, 表 2-B, 表 2-C). Table 1 and Tables 2-A and 2-B are the same in
MIL-STD-105E (1989, public domain) Tables I, II-A and II-B, which may be used to check them. Table 2-C is the 1999
edition's: its rejection numbers are one above the acceptance numbers (the 1989 edition's reduced plans had a gap
between them, and its "limit numbers" are gone).

How a cell is written below:
- ``Ac/Re``: the acceptance and rejection numbers of the plan of that row's sample size;
- ``v``: use the first sampling plan below the arrow (its sample size, and its Ac and Re);
- ``^``: use the first sampling plan above the arrow;
- ``-``: no plan (row S of Table 2-B has one only under AQL 0.025).

The AQL columns are percent nonconforming up to 10 and nonconformities per hundred units from 15 up, as the
standard heads them. Nothing here is computed: :mod:`capa.inspections.sampling` reads these tables and follows
their arrows. Change a cell only against the standard's page.
"""

#: Table 1: sample size code letters. Each row: the largest lot size of the row (None: and over), then the
#: letter for the special inspection levels S-1, S-2, S-3, S-4 and the general inspection levels I, II, III.
TABLE_1 = """
         2 to        8  A A A A  A A B
         9 to       15  A A A A  A B C
        16 to       25  A A B B  B C D
        26 to       50  A B B C  C D E
        51 to       90  B B C C  C E F
        91 to      150  B B C D  D F G
       151 to      280  B C D E  E G H
       281 to      500  B C D E  F H J
       501 to     1200  C C E F  G J K
      1201 to     3200  C D E G  H K L
      3201 to    10000  C D F G  J L M
     10001 to    35000  C D F H  K M N
     35001 to   150000  D E G J  L N P
    150001 to   500000  D E G J  M P Q
    500001 and    over  D E H K  N Q R
"""

#: The inspection levels, in the order of Table 1's columns.
LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")

#: Table 2-A: single sampling plans for normal inspection (master table). Row: code letter, sample size, a cell
#: per AQL.
TABLE_2A = """
        0.010 0.015 0.025 0.040 0.065  0.10  0.15  0.25  0.40  0.65   1.0   1.5   2.5   4.0   6.5    10    15    25    40    65   100   150   250   400   650  1000
A     2     v     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31
B     3     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31 44/45
C     5     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31 44/45     ^
D     8     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31 44/45     ^     ^
E    13     v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31 44/45     ^     ^     ^
F    20     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^
G    32     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^
H    50     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^
J    80     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^
K   125     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
L   200     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
M   315     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
N   500     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
P   800     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
Q  1250   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
R  2000     ^     ^   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
"""

#: Table 2-B: single sampling plans for tightened inspection (master table). Row S (3 150) serves only AQL
#: 0.025, reached from the arrows above it.
TABLE_2B = """
        0.010 0.015 0.025 0.040 0.065  0.10  0.15  0.25  0.40  0.65   1.0   1.5   2.5   4.0   6.5    10    15    25    40    65   100   150   250   400   650  1000
A     2     v     v     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19 27/28
B     3     v     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19 27/28 41/42
C     5     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19 27/28 41/42     ^
D     8     v     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19 27/28 41/42     ^     ^
E    13     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19 27/28 41/42     ^     ^     ^
F    20     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^
G    32     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^
H    50     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^
J    80     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^
K   125     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
L   200     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
M   315     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
N   500     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
P   800     v     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
Q  1250     v   0/1     v     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
R  2000   0/1     ^     v   1/2   2/3   3/4   5/6   8/9 12/13 18/19     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
S  3150     -     -   1/2     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -     -
"""

#: Table 2-C: single sampling plans for reduced inspection (master table). Its sample sizes are smaller for the
#: same letter (K is 50 here, 125 in Tables 2-A and 2-B).
TABLE_2C = """
        0.010 0.015 0.025 0.040 0.065  0.10  0.15  0.25  0.40  0.65   1.0   1.5   2.5   4.0   6.5    10    15    25    40    65   100   150   250   400   650  1000
A     2     v     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     v     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31
B     2     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22 30/31
C     2     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11 14/15 21/22     ^
D     3     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11 14/15 21/22     ^     ^
E     5     v     v     v     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11 14/15 21/22     ^     ^     ^
F     8     v     v     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^
G    13     v     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^
H    20     v     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^
J    32     v     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^
K    50     v     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
L    80     v     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
M   125     v     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
N   200     v     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
P   315     v   0/1     ^     v     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
Q   500   0/1     ^     ^     v   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
R   800     ^     ^     ^   1/2   2/3   3/4   5/6   6/7   8/9 10/11     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^     ^
"""
