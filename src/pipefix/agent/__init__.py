"""LangGraph wiring only: the state, the nodes and the graph."""
