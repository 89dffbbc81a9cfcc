"""The root CLI turns command exit codes and egov-bus errors into process exit codes."""

from __future__ import annotations

import pytest
import typer

from bus import cli
from bus.errors import EgovBusError


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch):
    app = typer.Typer()

    @app.command("exit-three")
    def exit_three() -> None:
        raise typer.Exit(3)

    @app.command("fail")
    def fail() -> None:
        raise EgovBusError("the broker said no")

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "_load_plugins", lambda: None)
    return app


@pytest.mark.parametrize(("argv", "code"), [(["exit-three"], 3), (["fail"], 1), (["nope"], 2)])
def test_exit_codes(commands, monkeypatch: pytest.MonkeyPatch, capsys, argv, code) -> None:
    monkeypatch.setattr("sys.argv", ["egov-bus", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == code
    if argv == ["fail"]:
        assert "the broker said no" in capsys.readouterr().err
