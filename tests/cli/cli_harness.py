"""Running the `cairn` command in-process against one store, for the CLI tests."""

from click.testing import CliRunner, Result

from cairn.cli.main import cli


class Cli:
    """Runs `cairn --tracking-uri <store> ...` in-process with click's CliRunner."""

    def __init__(self, store_uri: str) -> None:
        self.store_uri = store_uri
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli, ["--tracking-uri", self.store_uri, *args], input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.output, result.stderr, result.exception)
        return result

    def fails(self, *args: str, message: str, code: int = 1) -> Result:
        result = self(*args)
        assert result.exit_code == code, (result.output, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr + result.output
        return result
