"""Random container names in Docker's ``adjective_surname`` style, from our own word lists."""

import random

ADJECTIVES = (
    "agile amber bold brave bright calm clever cosmic curious daring eager gentle happy humble jolly keen "
    "kind lively lucid merry mighty modest nimble noble patient plucky proud quick quiet rapid serene "
    "sharp shiny silent smart snappy steady sunny swift tender tidy upbeat vivid warm wise witty zesty"
).split()
# People who shaped operating systems and computing.
SURNAMES = (
    "allen babbage backus bartik berners boole cerf clarke codd corbato cray dijkstra engelbart "
    "floyd hamilton hamming hopper kahn kernighan knuth lamport liskov lovelace mccarthy metcalfe "
    "minsky naur noyce perlman pike ritchie shannon stallman sutherland tanenbaum thompson torvalds "
    "turing vonneumann wilkes wing wirth wozniak"
).split()


def random_name():
    return f"{random.choice(ADJECTIVES)}_{random.choice(SURNAMES)}"
