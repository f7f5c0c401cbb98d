{#- Generic test: no row's `column_name` lies after the moment the row was
    loaded (`loaded_at`): a call cannot start, nor a consent be granted,
    after the export that reports it was landed. -#}
{% test not_after_load(model, column_name, loaded_at='_loaded_at') %}
select {{ column_name }}, {{ loaded_at }}
from {{ model }}
where {{ column_name }} > coalesce({{ loaded_at }}, now())
{% endtest %}
