"""Qt user interface: main window, panels, task model/view, player, dialogs."""
