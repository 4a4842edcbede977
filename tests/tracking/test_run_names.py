import random
import re

from cairn._internal.names import ADJECTIVES, NOUNS, generate_run_name

NAME_SHAPE = re.compile(r"^[a-z]+-[a-z]+-[0-9]{3}$")


def test_names_are_adjective_noun_three_digits() -> None:
    rng = random.Random(7)
    for _ in range(300):
        name = generate_run_name(rng)
        assert NAME_SHAPE.match(name), name
        adjective, noun, number = name.split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS
        assert 0 <= int(number) <= 999


def test_names_vary() -> None:
    names = {generate_run_name() for _ in range(200)}
    assert len(names) > 180
    assert len({name.split("-")[0] for name in names}) > 30
    assert len({name.split("-")[1] for name in names}) > 30


def test_small_numbers_are_zero_padded() -> None:
    numbers = {generate_run_name(random.Random(seed)).split("-")[2] for seed in range(3000)}
    assert any(n.startswith("0") for n in numbers)
    assert all(len(n) == 3 for n in numbers)


def test_seeded_generator_is_reproducible() -> None:
    first, second = random.Random(1), random.Random(1)
    assert [generate_run_name(first) for _ in range(10)] == [generate_run_name(second) for _ in range(10)]
    assert generate_run_name(random.Random(1)) != generate_run_name(random.Random(2))


def test_default_generator_leaves_global_random_state_alone() -> None:
    random.seed(123)
    state = random.getstate()
    generate_run_name()
    assert random.getstate() == state


def test_word_lists_are_sizeable_unique_and_lowercase() -> None:
    for words in (ADJECTIVES, NOUNS):
        assert 50 <= len(words) <= 80
        assert len(set(words)) == len(words)
        assert all(re.fullmatch(r"[a-z]+", word) for word in words)
