"""Rule-level checks of the offline structurer on hand-written resume text."""

from __future__ import annotations

from datetime import date

import pytest

from server.resumes.profile import EducationEntry, ExperienceEntry, Profile
from server.resumes.skills import SkillVocabulary
from server.resumes.structuring import structure_resume_offline

TODAY = date(2025, 3, 1)


def structure(text: str, today: date = TODAY) -> Profile:
    return structure_resume_offline(text, today=today)


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("Jan 2020 – Present", "2020-01", None),
        ("January 2020 - Current", "2020-01", None),
        ("Sept. 2017 to March 2019", "2017-09", "2019-03"),
        ("2018-2021", "2018", "2021"),
        ("2018 — 2021", "2018", "2021"),
        ("03/2019 - 06/2022", "2019-03", "2022-06"),
        ("3.2019 – 6.2022", "2019-03", "2022-06"),
        ("2019-03 to 2020-11", "2019-03", "2020-11"),
    ],
)
def test_date_range_formats(written: str, start: str, end: str | None) -> None:
    profile = structure(
        f"Experience\nPlatform Engineer, Quarry Labs | {written}\n- Ran the build farm for everyone"
    )
    assert profile.experience == [
        ExperienceEntry(
            title="Platform Engineer",
            company="Quarry Labs",
            start=start,
            end=end,
            highlights=["Ran the build farm for everyone"],
        )
    ]


def test_present_means_the_injected_today() -> None:
    text = "Experience\nEngineer, Fern Labs\nJan 2020 - Present"
    assert structure(text, today=date(2021, 1, 1)).years_experience == 1.0
    assert structure(text, today=date(2023, 1, 1)).years_experience == 3.0


def test_overlapping_jobs_are_counted_once() -> None:
    text = (
        "Work history\n"
        "Engineer, Fern Labs\n01/2018 - 12/2020\n- Built the warehouse scanner app\n"
        "Consultant, Moss Group\n01/2019 - 12/2021\n- Advised two banks on payments\n"
        "Mentor, Kelp Foundation\n01/2024 - 12/2024\n- Coached new developers every week\n"
    )
    profile = structure(text)
    assert [entry.company for entry in profile.experience] == ["Fern Labs", "Moss Group", "Kelp Foundation"]
    # 2018-01..2021-12 (48 months, overlap once) + 2024 (12 months) = 5 years, not 7.
    assert profile.years_experience == 5.0


def test_end_dates_in_the_future_count_only_up_to_today() -> None:
    text = "Experience\nResearcher, Tide Institute\n01/2024 - 12/2026"
    assert structure(text, today=date(2025, 1, 1)).years_experience == 1.0


def test_absent_facts_stay_empty() -> None:
    profile = structure("Sam Okafor\nSkills\nPython, SQL")
    assert profile == Profile(name="Sam Okafor", skills=["python", "sql"])


def test_text_without_recognisable_facts_gives_an_empty_profile() -> None:
    assert structure("lorem ipsum dolor sit amet\nconsectetur adipiscing elit") == Profile()
    assert structure("") == Profile()


def test_non_text_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        structure_resume_offline(b"%PDF-1.7")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "heading",
    [
        "EXPERIENCE",
        "Work History",
        "Employment History:",
        "Professional Experience",
        "E X P E R I E N C E",
        "## Work experience ##",
    ],
)
def test_heading_variants_open_the_experience_section(heading: str) -> None:
    profile = structure(
        f"Lee Park\n{heading}\nData Engineer at Pine Analytics\n2019 - 2022\n- Moved ETL to Airflow"
    )
    assert [(entry.title, entry.company) for entry in profile.experience] == [
        ("Data Engineer", "Pine Analytics")
    ]


def test_contact_details_in_one_header_line() -> None:
    profile = structure(
        "Priya Raman | Staff Engineer | priya.r@example.net | (512) 555-0199 | Austin, TX\n"
        "Experience\nStaff Engineer, Mesa Systems Inc\n2015 - 2024"
    )
    assert profile.name == "Priya Raman"
    assert profile.headline == "Staff Engineer"
    assert profile.email == "priya.r@example.net"
    assert profile.phone == "(512) 555-0199"
    assert profile.location == "Austin, TX"


@pytest.mark.parametrize(
    ("line", "location"),
    [
        ("Location: Remote (EU time zones)", "Remote (EU time zones)"),
        ("Berlin, Germany", "Berlin, Germany"),
        ("Toronto, ON", "Toronto, ON"),
        ("Kyiv, Ukraine | kate@example.org", "Kyiv, Ukraine"),
    ],
)
def test_location_patterns(line: str, location: str) -> None:
    assert structure(f"Kate Moroz\n{line}").location == location


def test_year_ranges_in_the_header_are_not_phone_numbers() -> None:
    profile = structure("Omar Haddad\nVolunteer coach 2018-2021\nomar@example.com")
    assert profile.phone is None


def test_labelled_phone_elsewhere_is_found() -> None:
    profile = structure("Omar Haddad\nContact\nMobile: +44 7700 900123\nEmail: omar@example.com")
    assert profile.phone == "+44 7700 900123"
    assert profile.email == "omar@example.com"


def test_skills_from_aliases_and_inline_sublists() -> None:
    text = (
        "Skills: JS, k8s, Postgres, C++, C#, .NET\n"
        "Languages: Go, R, TypeScript\n"
        "Frameworks: React.js, Node.js, scikit-learn"
    )
    assert structure(text).skills == [
        "javascript",
        "kubernetes",
        "postgresql",
        "c++",
        "c#",
        ".net",
        "go",
        "r",
        "typescript",
        "react",
        "node.js",
        "scikit-learn",
    ]


def test_ambiguous_words_count_only_in_a_skills_list() -> None:
    text = (
        "Summary\nI go the extra mile, rest well and spring into action with Docker and Terraform.\n"
        "Skills\nRust"
    )
    assert structure(text).skills == ["rust", "docker", "terraform"]


def test_java_is_not_found_inside_javascript() -> None:
    assert structure("Skills\nJavaScript, ECMAScript").skills == ["javascript"]


def test_custom_vocabulary() -> None:
    vocabulary = SkillVocabulary.from_mapping({"crafts": {"pottery": {"aliases": ["ceramics"]}}})
    profile = structure_resume_offline("Skills\nCeramics, Python", today=TODAY, vocabulary=vocabulary)
    assert profile.skills == ["pottery"]


def test_wrapped_bullets_are_joined_and_prose_lines_kept() -> None:
    text = (
        "Experience\nSRE, Delta Cloud Ltd | 2020 - 2023\n"
        "• Automated failover for the primary database cluster across\n"
        "three regions with no data loss\n"
        "Owned the on-call rotation for twelve services.\n"
    )
    (entry,) = structure(text).experience
    assert entry.highlights == [
        "Automated failover for the primary database cluster across three regions with no data loss",
        "Owned the on-call rotation for twelve services.",
    ]


def test_company_location_suffix_is_dropped() -> None:
    text = "Experience\nBackend Developer at Globex Corporation, Lyon, France\n2017 - 2019"
    (entry,) = structure(text).experience
    assert (entry.title, entry.company) == ("Backend Developer", "Globex Corporation")


def test_undated_entries_are_kept_without_dates() -> None:
    text = (
        "Projects\nChess engine\nExperience\nTeaching Assistant, Oak University\n- Graded algorithms homework"
    )
    profile = structure(text)
    assert profile.experience == [
        ExperienceEntry(
            title="Teaching Assistant", company="Oak University", highlights=["Graded algorithms homework"]
        )
    ]
    assert profile.years_experience is None


def test_education_entries_in_several_shapes() -> None:
    text = (
        "Education\n"
        "B.Sc. Computer Science, University of Ghana, 2010 - 2014\n"
        "• First-class honours\n"
        "Technical University of Munich\n"
        "M.Sc. Informatics\n"
        "2016\n"
        "Online course on compilers\n"
    )
    assert structure(text).education == [
        EducationEntry(
            institution="University of Ghana", degree="B.Sc. Computer Science", start="2010", end="2014"
        ),
        EducationEntry(institution="Technical University of Munich", degree="M.Sc. Informatics", end="2016"),
    ]


def test_summary_without_a_heading_is_the_prose_under_the_name() -> None:
    text = (
        "Ines Duarte\n"
        "Mobile Developer\n"
        "I build offline-first Android and iOS apps for field workers and care about battery life.\n"
        "Experience\nMobile Developer, Salt Labs\n2021 - 2024"
    )
    profile = structure(text)
    assert profile.headline == "Mobile Developer"
    assert profile.summary == (
        "I build offline-first Android and iOS apps for field workers and care about battery life."
    )
    assert profile.skills == ["android", "ios"]


def test_a_job_title_line_is_not_taken_for_the_name() -> None:
    profile = structure("Senior Software Engineer\nalex@example.com")
    assert profile.name is None
    assert profile.headline is None


def test_a_description_line_below_the_dates_is_not_taken_for_the_company() -> None:
    text = "Experience\nSenior Engineer\nJan 2020 - Present\nWorked on the billing team"
    assert structure(text).experience == [
        ExperienceEntry(title="Senior Engineer", start="2020-01", highlights=["Worked on the billing team"])
    ]


def test_a_company_line_below_the_dates_completes_the_entry() -> None:
    text = "Experience\nStaff Engineer\n2019 - 2022\nHelix Labs\n- Shipped the search rewrite"
    assert structure(text).experience == [
        ExperienceEntry(
            title="Staff Engineer",
            company="Helix Labs",
            start="2019",
            end="2022",
            highlights=["Shipped the search rewrite"],
        )
    ]


def test_figures_in_header_prose_are_not_phone_numbers() -> None:
    text = "Rui Costa\nI scaled a messaging platform from 20 000 000 to 90 000 000 monthly users."
    profile = structure(text)
    assert profile.phone is None
    assert profile.summary is not None


def test_links_and_addresses_are_not_skill_mentions() -> None:
    text = (
        "Noor Aziz\nnoor@python.org | github.com/noor | https://noor.dev/kafka-notes\nSummary\nI write Rust."
    )
    assert structure(text).skills == []
