"""Placeholder until the page lands."""
import streamlit as st

st.title("churn")
st.info("This page is being built.")
