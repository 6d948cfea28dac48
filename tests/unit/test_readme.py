"""The README is the landing page a newcomer reads in two minutes; the manual is the site under docs/."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_the_readme_stays_under_150_lines():
    assert len(README.splitlines()) < 150


def test_every_link_and_picture_of_the_readme_names_a_file_of_the_repository():
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)", README) if not t.startswith(("http://", "https://"))]

    assert targets, "the README links into the site"
    assert [t for t in targets if not (REPO / t).exists()] == []
